"""The optional audit component (manifests/components/audit) added to the enforce overlay, rendered by
kubectl's kustomize as an operator would enable it: every object validates strictly, the RBAC only reads,
the container's arguments are ones `podgate audit` accepts, and the Pod passes the shipped policies."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from _deploy import ROOT, assert_restricted_container, by_kind, kustomize, one, tree_with_certs
from test_deploy_manifests import KUBERNETES_VERSIONS

from webhook.audit.continuous import parse_duration
from webhook.cli import build_parser
from webhook.deploy.doctor import Installation, diagnose
from webhook.deploy.objects import K8sObject
from webhook.policy import Request, evaluate, load_policies, mutate

COMPONENT = ROOT / "manifests" / "components" / "audit"
COMPONENT_KINDS = ["ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "Deployment", "Service",
                   "ServiceAccount"]  # fmt: skip


def pushed_image() -> str:
    """The image docs/deploy.md step 1 tells operators to build, push and set in their overlay."""
    found = re.search(r"docker build -t (\S+) \.", (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    assert found, "docs/deploy.md step 1 no longer shows `docker build -t IMAGE .`"
    return found.group(1)


def overlay_with_audit(tree: Path, name: str, images: str = "") -> Path:
    """An overlay as docs/deploy.md says to write one: enforce, plus the audit component."""
    directory = tree / "manifests" / "overlays" / name
    directory.mkdir()
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n  - ../enforce\n"
        "components:\n  - ../../components/audit\n" + images,
        encoding="utf-8",
    )
    return directory


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tree_with_certs(tmp_path_factory.mktemp("audit-deploy"))


@pytest.fixture(scope="module")
def enforce(tree: Path) -> list[dict[str, Any]]:
    return kustomize(tree / "manifests" / "overlays" / "enforce")


@pytest.fixture(scope="module")
def rendered(tree: Path) -> list[dict[str, Any]]:
    return kustomize(overlay_with_audit(tree, "enforce-audit"))


@pytest.fixture(scope="module")
def pushed(tree: Path) -> list[dict[str, Any]]:
    """The same, after install step 1 pointed the overlay at the pushed image."""
    name, _, tag = pushed_image().rpartition(":")
    images = f"images:\n  - name: ghcr.io/podgate/podgate\n    newName: {name}\n    newTag: {tag}\n"
    return kustomize(overlay_with_audit(tree, "enforce-audit-pushed", images))


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def audit_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = named(objects, "Deployment", "podgate-audit")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def added(rendered: list[dict[str, Any]], enforce: list[dict[str, Any]]) -> list[dict[str, Any]]:
    before = {(o["kind"], o["metadata"]["name"]) for o in enforce}
    return [o for o in rendered if (o["kind"], o["metadata"]["name"]) not in before]


def test_the_component_adds_only_its_objects_and_changes_nothing_else(
    rendered: list[dict[str, Any]], enforce: list[dict[str, Any]]
) -> None:
    new = added(rendered, enforce)
    assert sorted(o["kind"] for o in new) == sorted(COMPONENT_KINDS)
    assert [o for o in rendered if o not in new] == enforce  # the webhook's objects, untouched
    for obj in new:
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "podgate-system", obj["metadata"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "podgate"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schema(
    rendered: list[dict[str, Any]], version: str
) -> None:
    for obj in rendered:
        kubernetes_validate.validate(obj, version, strict=True)
    broken = copy.deepcopy(named(rendered, "Deployment", "podgate-audit"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):  # strict: a misspelt field is an error
        kubernetes_validate.validate(broken, version, strict=True)


def test_the_audit_account_can_only_read(
    rendered: list[dict[str, Any]], enforce: list[dict[str, Any]]
) -> None:
    """Every rule reachable from the audit's ServiceAccount only reads, and never Secrets."""
    account = named(rendered, "ServiceAccount", "podgate-audit")["metadata"]
    bindings = [
        b
        for b in by_kind(rendered, "ClusterRoleBinding") + by_kind(rendered, "RoleBinding")
        if {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        in b.get("subjects", [])
    ]
    assert {b["metadata"]["name"] for b in bindings} == {
        "podgate-audit-deployment",
        "podgate-audit-namespaces",
    }
    roles = {r["metadata"]["name"]: r for r in by_kind(rendered, "ClusterRole")}
    granted: dict[tuple[str, str], set[str]] = {}
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "ClusterRole"
        for rule in roles[binding["roleRef"]["name"]]["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
            assert "*" not in rule["resources"] and "*" not in rule["apiGroups"], rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert ("", "secrets") not in granted
    # What `podgate audit --cluster` lists: namespaces (labels) and every pod-bearing kind.
    needed = {("", "namespaces"), ("", "pods"), ("", "podtemplates"), ("", "replicationcontrollers"),
              ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"),
              ("apps", "replicasets"), ("batch", "jobs"), ("batch", "cronjobs")}  # fmt: skip
    assert {key for key, verbs in granted.items() if {"get", "list"} <= verbs} == needed
    # The existing read-only audit role is reused as it is in the base, not redefined.
    assert named(rendered, "ClusterRole", "podgate-audit") == named(enforce, "ClusterRole", "podgate-audit")
    deployment = named(rendered, "Deployment", "podgate-audit")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["name"]


def test_the_container_arguments_are_ones_podgate_audit_accepts(rendered: list[dict[str, Any]]) -> None:
    """Parsed by `podgate audit`'s own parser (the image's entrypoint is `podgate`)."""
    container = audit_container(rendered)
    assert "command" not in container  # the Dockerfile's ENTRYPOINT ["podgate"] runs the args
    args = build_parser().parse_args(container["args"])
    assert args.command == "audit"
    assert args.cluster and args.in_cluster
    assert args.paths == [] and args.compare is None
    assert parse_duration(args.interval) == 600
    host, _, port = args.listen.rpartition(":")
    assert host == "0.0.0.0"
    assert container["ports"] == [{"name": "metrics", "containerPort": int(port), "protocol": "TCP"}]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert args.policies == [mounts["policies"]]
    volumes = {
        v["name"]: v
        for v in named(rendered, "Deployment", "podgate-audit")["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes["policies"]["configMap"]["name"] == one(rendered, "ConfigMap")["metadata"]["name"]
    with pytest.raises(SystemExit):  # the parser does refuse what it does not know
        build_parser().parse_args([*container["args"], "--intervall=10m"])


def test_the_deployment_is_restricted_probed_and_scraped(rendered: list[dict[str, Any]]) -> None:
    deployment = named(rendered, "Deployment", "podgate-audit")
    spec = deployment["spec"]
    template = spec["template"]
    pod = template["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    assert template["metadata"]["labels"]["network.podgate.io/zone"] == "internal"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = audit_container(rendered)
    assert_restricted_container(container)
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics", "scheme": "HTTP"}
    annotations = template["metadata"]["annotations"]
    port = str(container["ports"][0]["containerPort"])
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": port,
        "prometheus.io/path": "/metrics",
    }
    # The Service reaches the audit Pod only, never the webhook's (and the webhook's Service not the audit).
    service = named(rendered, "Service", "podgate-audit")
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": int(port), "targetPort": "metrics", "protocol": "TCP"}
    ]
    webhook_pod_labels = named(rendered, "Deployment", "podgate")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= webhook_pod_labels.items()
    webhook_selector = named(rendered, "Service", "podgate")["spec"]["selector"]
    assert not webhook_selector.items() <= template["metadata"]["labels"].items()


def test_the_audit_runs_the_webhooks_image(
    rendered: list[dict[str, Any]], pushed: list[dict[str, Any]]
) -> None:
    """The same image as the webhook, and the overlay's `images:` (install step 1) moves both."""
    for objects, image in ((rendered, "ghcr.io/podgate/podgate:0.1.0"), (pushed, pushed_image())):
        (webhook,) = named(objects, "Deployment", "podgate")["spec"]["template"]["spec"]["containers"]
        assert audit_container(objects)["image"] == webhook["image"] == image


def test_the_doctor_passes_the_overlay_with_the_audit(rendered: list[dict[str, Any]]) -> None:
    objects = [K8sObject(f"enforce-audit#{i}", o) for i, o in enumerate(rendered)]
    assert diagnose(Installation(objects)) == []


def test_the_audit_deployment_passes_the_shipped_policies(pushed: list[dict[str, Any]]) -> None:
    """As the webhook's own: podgate-system is never sent to the webhooks, so it must pass unmutated."""
    policies = load_policies(ROOT / "policies")
    deployment = named(pushed, "Deployment", "podgate-audit")
    request = Request(object=deployment, operation="CREATE", namespace="default")
    decision = evaluate(policies, request)
    assert decision.allowed, decision
    assert not decision.violations
    assert not decision.warnings
    # Every policy that judges pod specs judged it (the access policies, exec and holds, judge users).
    assert set(decision.outcomes) == {p.name for p in policies if p.rules}
    assert {"network-labels", "trusted-registries", "resource-limits", "pod-security-restricted"} <= set(
        decision.outcomes
    )
    assert mutate(policies, request).patch == []
    # The test can fail: without the zone label, or with the placeholder image, it is refused.
    unlabelled = copy.deepcopy(deployment)
    del unlabelled["spec"]["template"]["metadata"]["labels"]["network.podgate.io/zone"]
    refused = evaluate(policies, Request(object=unlabelled, operation="CREATE", namespace="default"))
    assert {v.policy for v in refused.violations} == {"network-labels"}
    placeholder = copy.deepcopy(deployment)
    placeholder["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/podgate/podgate:0.1.0"
    refused = evaluate(policies, Request(object=placeholder, operation="CREATE", namespace="default"))
    assert {v.policy for v in refused.violations} == {"trusted-registries"}
