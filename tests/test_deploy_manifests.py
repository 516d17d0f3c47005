"""Every overlay renders with kubectl's kustomize, validates against the Kubernetes 1.30 and 1.37
OpenAPI schemas (strict: unknown fields are errors), and has the properties that keep the cluster safe."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from _deploy import OVERLAYS, ROOT, assert_restricted_container, by_kind, kustomize, one, tree_with_certs
from cryptography import x509

from webhook.cli import main
from webhook.deploy.doctor import Installation, diagnose
from webhook.deploy.objects import K8sObject
from webhook.policy import PolicySet, Request, evaluate, load_policies, load_policy_text, mutate
from webhook.policy.podspec import KIND_RESOURCES, POD_KINDS
from webhook.settings import Settings

KUBERNETES_VERSION = "1.37.0"
# The oldest release docs/deploy.md supports, and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.30.0", KUBERNETES_VERSION)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tree_with_certs(tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="module")
def rendered(tree: Path) -> dict[str, list[dict[str, Any]]]:
    return {name: kustomize(tree / "manifests" / "overlays" / name) for name in OVERLAYS}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schema(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, version: str
) -> None:
    objects = rendered[overlay]
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        [
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "MutatingWebhookConfiguration",  # the shipped policies carry mutations
            "Namespace",
            "PodDisruptionBudget",
            "PriorityClass",
            "Secret",
            "Service",
            "ServiceAccount",
            "ValidatingWebhookConfiguration",
        ]
    )
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_schema_validation_can_fail(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment = dict(one(rendered["enforce"], "Deployment"))
    deployment["spec"] = dict(deployment["spec"], replica=3)  # a typo an operator could make
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


POD_SPEC_RESOURCES = {KIND_RESOURCES[k][2] for k in POD_KINDS}


@pytest.mark.parametrize(("overlay", "failure_policy"), [("enforce", "Fail"), ("dry-run", "Ignore")])
def test_webhooks_cannot_lock_the_cluster(
    tree: Path, rendered: dict[str, list[dict[str, Any]]], overlay: str, failure_policy: str
) -> None:
    """Every webhook of both configurations (the shipped policies validate, mutate and judge access) has
    the same lock-out safety; sessions and evictions stay fail-open even in enforce."""
    objects = rendered[overlay]
    bundle = (tree / "certs" / "ca-bundle.crt").read_bytes()
    pod_specs = POD_SPEC_RESOURCES | {"pods/ephemeralcontainers"}
    (mutating,) = one(objects, "MutatingWebhookConfiguration")["webhooks"]
    assert_hook_cannot_lock_the_cluster(mutating, failure_policy, "/mutate", bundle, pod_specs)
    # Run again if a later mutating webhook changed the pod, so podgate's defaults still hold.
    assert mutating["reinvocationPolicy"] == "IfNeeded"
    validating, holds, sessions = one(objects, "ValidatingWebhookConfiguration")["webhooks"]
    assert [validating["name"], holds["name"], sessions["name"]] == [
        "validate.podgate.io",
        "holds.incident.podgate.io",
        "sessions.incident.podgate.io",
    ]
    assert_hook_cannot_lock_the_cluster(validating, failure_policy, "/validate", bundle, pod_specs)
    # Holds: only DELETEs of held objects (their UPDATEs reach validate.podgate.io, which judges access
    # beside the pod spec), so failing closed freezes nothing a responder did not label.
    assert_hook_cannot_lock_the_cluster(holds, failure_policy, "/validate", bundle, POD_SPEC_RESOURCES)
    assert holds["objectSelector"] == {"matchLabels": {"podgate.io/hold": "true"}}
    assert {op for rule in holds["rules"] for op in rule["operations"]} == {"DELETE"}
    # Sessions and evictions name a pod without its labels: nothing narrows them, so never Fail.
    sessions_resources = {"pods/exec", "pods/attach", "pods/portforward", "pods/eviction"}
    assert_hook_cannot_lock_the_cluster(sessions, "Ignore", "/validate", bundle, sessions_resources)
    assert "objectSelector" not in sessions
    operations = {r: rule["operations"] for rule in sessions["rules"] for r in rule["resources"]}
    assert operations == {
        "pods/exec": ["CONNECT"],
        "pods/attach": ["CONNECT"],
        "pods/portforward": ["CONNECT"],
        "pods/eviction": ["CREATE"],
    }
    for hook in (validating, holds, sessions):
        assert "reinvocationPolicy" not in hook  # not a field of a validating webhook
    secret = one(objects, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"] == {
        "name": "podgate-tls",
        "namespace": "podgate-system",
        "labels": {"app.kubernetes.io/part-of": "podgate"},
    }
    served = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(bundle)
    served.verify_directly_issued_by(ca)


def assert_hook_cannot_lock_the_cluster(
    hook: dict[str, Any], failure_policy: str, path: str, bundle: bytes, resources: set[str]
) -> None:
    assert hook["failurePolicy"] == failure_policy, hook["name"]
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["sideEffects"] == "None"
    assert hook["matchPolicy"] == "Equivalent"
    assert 1 <= hook["timeoutSeconds"] <= 10
    assert hook["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-node-lease", "kube-system", "podgate-system"],
            }
        ]
    }
    assert hook["clientConfig"]["service"] == {
        "name": "podgate",
        "namespace": "podgate-system",
        "path": path,
        "port": 443,
    }
    # The caBundle is the CA bundle written by `podgate certs generate` (kustomize wraps its base64).
    assert base64.b64decode("".join(hook["clientConfig"]["caBundle"].split())) == bundle, hook["name"]
    # Exactly the resources its policies judge, named; never a wildcard, never a cluster-scoped one.
    assert {r for rule in hook["rules"] for r in rule["resources"]} == resources, hook["name"]
    assert {rule["scope"] for rule in hook["rules"]} == {"Namespaced"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_doctor_passes_every_overlay_without_warnings(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    objects = [K8sObject(f"{overlay}#{i}", o) for i, o in enumerate(rendered[overlay])]
    assert diagnose(Installation(objects)) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_certs_check_reads_the_rendered_overlay(
    tree: Path, overlay: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The caBundle as kustomize renders it (base64 wrapped over lines) is read as the API server reads it."""
    code = main(
        [
            "certs",
            "check",
            "--out",
            str(tree / "certs"),
            "--manifests",
            str(tree / "manifests/overlays" / overlay),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    for label in (
        "ValidatingWebhookConfiguration podgate: webhook validate.podgate.io",
        "MutatingWebhookConfiguration podgate: webhook mutate.podgate.io",
    ):
        assert f"ok: {label}: caBundle trusts" in out, out


def test_the_deployment_is_highly_available_and_restricted(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["enforce"]
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] >= 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert one(objects, "HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 3
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pod["priorityClassName"] == one(objects, "PriorityClass")["metadata"]["name"]
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert_restricted_container(container)
    assert container["ports"] == [{"name": "https", "containerPort": 8443, "protocol": "TCP"}]
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "https", "scheme": "HTTPS"}
    service = one(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "podgate-tls"
    assert volumes["policies"]["configMap"]["name"] == "podgate-policies"
    assert f"--cert={mounts['tls']}/tls.crt" in container["args"]
    assert f"--key={mounts['tls']}/tls.key" in container["args"]
    assert f"--policies={mounts['policies']}" in container["args"]


def test_a_terminating_replica_serves_on_then_drains_within_its_grace_period(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    # The API server may still pick a terminating replica until the EndpointSlice update reaches it: the
    # preStop pause keeps the port open meanwhile, and the kubelet's grace period must cover the pause and
    # gunicorn's graceful timeout, or in-flight admission calls are cut by SIGKILL.
    for objects in rendered.values():
        pod = one(objects, "Deployment")["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert 0 < pause < pod["terminationGracePeriodSeconds"] - Settings().graceful_timeout


# The image docs/deploy.md step 1 pushes and sets in both overlays (kustomize `images:`). The image in
# manifests/base (ghcr.io/podgate/podgate) is a placeholder for it: whether an image reference passes
# trusted-registries depends on where the operator pushes it and on the registry list they ship, not on
# podgate. Step 1 uses registry.example.com, the organisation registry the shipped list trusts.
PUSHED_IMAGE = "registry.example.com/podgate:0.1.0"


def test_podgates_own_deployment_passes_the_shipped_policies(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """podgate's own Deployment, as install step 1 leaves it, passes every shipped policy unmutated: the
    webhooks never see podgate-system, so no defaulting (zone label, resources, ...) would rescue it."""
    policies = load_policies(ROOT / "policies")
    deployment = copy.deepcopy(one(rendered["enforce"], "Deployment"))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/podgate/podgate:0.1.0"  # the name docs/deploy.md step 1 replaces
    container["image"] = PUSHED_IMAGE
    # Judged as if in an ordinary namespace: the webhooks never see podgate-system, the policies still hold.
    decision = evaluate(policies, Request(object=deployment, operation="CREATE", namespace="default"))
    assert decision.allowed, decision
    assert not decision.violations
    assert not decision.warnings
    judged = {"network-labels", "trusted-registries", "resource-limits", "no-privileged", "no-root"}
    assert judged | {"pod-security-baseline", "pod-security-restricted"} <= set(decision.outcomes)
    # Every pod-spec policy judged it, none skipped. Access policies (sessions, holds) judge who acts on a
    # running pod, never a CREATE: they are the only ones left out.
    pod_spec = {p.name for p in policies if p.rules}
    assert set(decision.outcomes) == pod_spec
    access = [p for p in policies if p.name not in pod_spec]
    assert access and all(p.access_rules and "CREATE" not in p.match.operations for p in access)
    # Nothing left for the shipped mutations to default (they would never run on podgate-system anyway).
    assert mutate(policies, Request(object=deployment, operation="CREATE", namespace="default")).patch == []
    # The placeholder image is refused by trusted-registries only, until step 1 is done (or the operator
    # adds ghcr.io/podgate to the list).
    placeholder = one(rendered["enforce"], "Deployment")
    decision = evaluate(policies, Request(object=placeholder, operation="CREATE", namespace="default"))
    assert {v.policy for v in decision.violations} == {"trusted-registries"}
    # The same Deployment with one capability kept is refused by the restricted set: the test can fail.
    weakened = copy.deepcopy(deployment)
    weakened["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"] = {
        "drop": ["NET_RAW"]
    }
    decision = evaluate(policies, Request(object=weakened, operation="CREATE", namespace="default"))
    assert not decision.allowed
    assert {v.policy for v in decision.violations} == {"pod-security-restricted"}
    # Without its network zone label it escapes the namespaces' NetworkPolicies: network-labels refuses it.
    unlabelled = copy.deepcopy(deployment)
    del unlabelled["spec"]["template"]["metadata"]["labels"]["network.podgate.io/zone"]
    decision = evaluate(policies, Request(object=unlabelled, operation="CREATE", namespace="default"))
    assert {v.policy for v in decision.violations} == {"network-labels"}


def test_rbac_is_read_only_and_never_reads_secrets(rendered: dict[str, list[dict[str, Any]]]) -> None:
    rules = [rule for role in by_kind(rendered["enforce"], "ClusterRole") for rule in role["rules"]]
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list", "watch"}
    resources = {r for rule in rules for r in rule["resources"]}
    assert "secrets" not in resources and "*" not in resources
    assert "namespaces" in resources
    assert {KIND_RESOURCES[k][2] for k in POD_KINDS} <= resources  # the audit lists every pod-bearing kind
    for binding in by_kind(rendered["enforce"], "ClusterRoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "podgate", "namespace": "podgate-system"}
        ]


def test_the_policy_configmaps_hold_the_policy_set(rendered: dict[str, list[dict[str, Any]]]) -> None:
    shipped = load_policies(ROOT / "policies")
    for overlay in OVERLAYS:
        data = one(rendered[overlay], "ConfigMap")["data"]
        loaded = [load_policy_text(text, f"{overlay}:{key}") for key, text in sorted(data.items())]
        assert sorted(p.name for s in loaded for p in s) == sorted(shipped.names)
        actions = {a for s in loaded for p in s for a in p.actions}
        if overlay == "dry-run":
            assert "Deny" not in actions
            assert {p.failure_policy for s in loaded for p in s} == {"Ignore"}
        else:
            assert actions == {a for p in shipped for a in p.actions}


def test_the_probe_pod_of_the_install_guide_is_warned_then_denied(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """docs/deploy.md step 4 and 5: the same Pod is admitted with a warning in dry-run, denied in enforce."""
    probe = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "podgate-probe", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "podgate-probe",
                    "image": "busybox",
                    "command": ["true"],
                    "securityContext": {"privileged": True, "runAsUser": 0},
                }
            ]
        },
    }
    request = Request(object=probe, operation="CREATE", namespace="default")
    expected = 'container "podgate-probe" (spec.containers[0]) must not run as user 0 (root)'
    verdicts = {}
    for overlay in OVERLAYS:
        data = one(rendered[overlay], "ConfigMap")["data"]
        policies = [load_policy_text(text, f"{overlay}:{key}") for key, text in data.items()]
        decision = evaluate(PolicySet(tuple(p for s in policies for p in s)), request)
        messages = [v.message for v in decision.violations]
        assert any(m.startswith(expected) for m in messages), messages
        verdicts[overlay] = (decision.allowed, any(w.startswith(expected) for w in decision.warnings))
    assert verdicts == {"enforce": (False, False), "dry-run": (True, True)}


def test_an_overlay_without_certificates_refuses_to_render(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from _deploy import kubectl

    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    (tmp_path / "certs").mkdir()
    shutil.copy(ROOT / "certs" / "kustomization.yaml", tmp_path / "certs")
    done = subprocess.run(
        [kubectl(), "kustomize", str(tmp_path / "manifests/overlays/enforce")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "tls.crt" in done.stderr


def test_the_access_policies_get_what_they_read(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The held-pod cache may list and watch pods (podgate's own role, not the droppable audit one), and the
    scan-verdicts policy finds its reports where it reads them, mounted from an optional ConfigMap."""
    webhook_role = next(
        r for r in by_kind(rendered["enforce"], "ClusterRole") if r["metadata"]["name"] == "podgate-webhook"
    )
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]} in webhook_role["rules"]
    (scan,) = [p for p in load_policies(ROOT / "policies") if p.name == "scan-verdicts"]
    (reports,) = scan.rules[0].run.data_sources  # type: ignore[attr-defined]  # dormant: the path only
    for overlay in OVERLAYS:
        pod = one(rendered[overlay], "Deployment")["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts[reports]["readOnly"] is True
        volume = volumes[mounts[reports]["name"]]
        assert volume["configMap"] == {"name": "podgate-scan-reports", "optional": True}
