"""The exported ValidatingAdmissionPolicies agree with podgate on every fixture.

Each shipped policy is exported (`podgate export vap`), the manifests are read back as the API server
would run them (`load_policy_text` judges native policies with the same CEL runtime), and every fixture
goes through both: the shared AdmissionReview samples, every fixture object under `policies/**/tests/`,
and generated pods covering the null/absent/explicit combinations the translations must get right.

On CREATE (and kubectl debug) the decisions must be identical, policy by policy. On other UPDATEs the
export leaves judgement to the webhook (podgate judges only what an update introduces), so there the
floor must only never deny what podgate allows.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import POLICIES, ROOT, SHARED_FIXTURES, pod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vap_helpers import POLICY

from webhook.cli import main
from webhook.inputs import object_request, review_request
from webhook.policy import Decision, PolicySet, Request, evaluate, load_policies, load_policy_text
from webhook.policy.cel.library import admission_env
from webhook.policy.document import PolicyDocument
from webhook.policy.engine import INPUT_POLICY
from webhook.policy.loader import policy_documents
from webhook.policy.vap.exporter import PREFIX, export_documents, glob_to_re2
from webhook.policy.vap.translators import TRANSLATORS


def shipped_documents() -> list[PolicyDocument]:
    return policy_documents([POLICIES])[0]


def exported_only(docs: list[PolicyDocument], exported: list[str]) -> PolicySet:
    """The shipped policies reduced to the rules that were exported (what the floor must agree with)."""
    kept = []
    for doc in docs:
        rules = [
            r
            for r in doc.spec.rules
            if f"{doc.metadata.name}/{r.name or getattr(r, 'check', '')}" in exported
        ]
        if rules:
            kept.append(
                doc.model_copy(update={"spec": doc.spec.model_copy(update={"rules": rules, "mutations": []})})
            )
    text = yaml.safe_dump_all(
        [
            d.model_dump(by_alias=True, exclude_defaults=True, mode="json")
            | {"apiVersion": "podgate.io/v1alpha1", "kind": "Policy"}
            for d in kept
        ]
    )
    return load_policy_text(text, "shipped-exported-rules.yaml")


DOCS = shipped_documents()
RESULT = export_documents(DOCS)
PODGATE = exported_only(DOCS, RESULT.exported)
NATIVE = load_policy_text(yaml.safe_dump_all(RESULT.documents), "exported.yaml")


def with_namespace_labels(request: Request) -> Request:
    # The API server always knows a namespace's labels, kubernetes.io/metadata.name among them.
    namespace = request.namespace or (request.object or {}).get("metadata", {}).get("namespace") or "default"
    return replace(request, namespace=namespace, namespace_labels={"kubernetes.io/metadata.name": namespace})


def verdict(decision: Decision, prefix: str = "") -> tuple[bool, list[str]]:
    """Allowed, and which policies were violated (exported ones named as their podgate originals)."""
    names = {
        v.policy if v.policy == INPUT_POLICY else v.policy.removeprefix(prefix) for v in decision.violations
    }
    return decision.allowed, sorted(names)


def fixture_requests() -> list[tuple[str, Request]]:
    found = []
    for path in sorted(SHARED_FIXTURES.glob("*.json")):
        found.append((path.name, review_request(json.loads(path.read_text()))))
    for path in sorted(POLICIES.rglob("tests/**/*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict) and doc.get("kind") == "PolicyTest":  # objects written inline in cases
                for case in doc.get("spec", {}).get("cases", []):
                    if isinstance(case.get("object"), dict):
                        found.append(
                            (f"{path.relative_to(ROOT)}#{case['name']}", object_request(case["object"]))
                        )
            elif isinstance(doc, dict) and doc.get("kind") is not None:
                if doc.get("kind") == "AdmissionReview":
                    found.append((f"{path.relative_to(ROOT)}#{index}", review_request(doc)))
                else:
                    found.append((f"{path.relative_to(ROOT)}#{index}", object_request(doc)))
    return found


FIXTURES = fixture_requests()


def test_every_shipped_policy_with_a_translation_is_exported() -> None:
    assert RESULT.exported, "nothing was exported"
    # Every shipped pod-spec policy: all but those reading state outside the object.
    exported = {name.partition("/")[0] for name in RESULT.exported}
    outside = {"exec-control", "forensic-hold", "scan-verdicts"}
    assert exported == {doc.metadata.name for doc in DOCS} - outside
    for doc in DOCS:
        for rule in doc.spec.rules:
            check = getattr(rule, "check", None)
            if check in TRANSLATORS and not doc.spec.exemptions.images:
                assert f"{doc.metadata.name}/{rule.name or check}" in RESULT.exported


@pytest.mark.parametrize(("name", "request_"), FIXTURES, ids=[name for name, _ in FIXTURES])
def test_exported_policies_agree_with_podgate_on_every_fixture(name: str, request_: Request) -> None:
    request_ = with_namespace_labels(request_)
    ours = verdict(evaluate(PODGATE, request_))
    native = verdict(evaluate(NATIVE, request_), PREFIX)
    judged_in_full = request_.operation == "CREATE" or request_.subresource == "ephemeralcontainers"
    if judged_in_full:
        assert native == ours
    else:
        assert native[0] or not ours[0], "the floor denies what podgate allows"


SECURITY_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "runAsNonRoot": st.sampled_from([True, False, None]),
        "runAsUser": st.sampled_from([0, 1000, None]),
        "privileged": st.sampled_from([True, False, None]),
        "allowPrivilegeEscalation": st.sampled_from([True, False, None]),
        "procMount": st.sampled_from(["Default", "Unmasked", None]),
        "capabilities": st.sampled_from([None, {"add": ["NET_BIND_SERVICE"]}, {"add": ["SYS_ADMIN"]}]),
    },
)
CONTEXT = st.one_of(st.none(), SECURITY_VALUES)
# Images and resources for trusted-registries and resource-limits (their edge cases are in
# test_vap_translators_registries_resources.py): trusted, untrusted, untagged, invalid; complete,
# missing, implied, above the bounds and the ratio, invalid.
IMAGES = st.sampled_from(
    ["registry.example.com/app:1", "nginx:1.27", "nginx", "docker.io/library/redis:latest", "acme/web:1",
     "registry.example.com.evil.io/app:1", "Registry.Example.com/app@sha256:" + "0" * 64, "Bad/Image", None]
)  # fmt: skip
RESOURCES = st.sampled_from(
    [{"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
     {"limits": {"cpu": "2", "memory": "1Gi"}}, {"requests": {"cpu": 1}}, None, {},
     {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "17", "memory": "4Gi"}},
     {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "4097Mi"}},
     {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gb"}}]
)  # fmt: skip


@st.composite
def pods(draw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    sc = draw(st.one_of(st.just("absent"), CONTEXT))
    if sc != "absent":
        spec["securityContext"] = sc
    for field, low in (("initContainers", 0), ("containers", 1), ("ephemeralContainers", 0)):
        count = draw(st.integers(low, 2))
        if count or draw(st.booleans()):
            items = []
            for i in range(count):
                container: dict[str, Any] = {"name": f"{field[:4]}{i}", "image": draw(IMAGES)}
                resources = draw(st.one_of(st.just("absent"), RESOURCES))
                if resources != "absent" and field != "ephemeralContainers":
                    container["resources"] = resources
                csc = draw(st.one_of(st.just("absent"), CONTEXT))
                if csc != "absent":
                    container["securityContext"] = csc
                items.append(container)
            spec[field] = items
    obj = pod()
    obj["spec"] = spec
    kind = draw(st.sampled_from(["Pod", "Deployment", "CronJob", "PodTemplate", "Job"]))
    template = {"metadata": {"labels": {"app": "x"}}, "spec": spec}
    if kind == "Deployment":
        return {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": obj["metadata"],
            "spec": {"template": template},
        }
    if kind == "Job":
        return {
            "apiVersion": "batch/v1",
            "kind": kind,
            "metadata": obj["metadata"],
            "spec": {"template": template},
        }
    if kind == "CronJob":
        jobs = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": obj["metadata"], "spec": jobs}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": obj["metadata"], "template": template}
    return obj


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods())
def test_exported_policies_agree_with_podgate_on_generated_pods(obj: dict[str, Any]) -> None:
    request = with_namespace_labels(Request(object=obj))
    assert verdict(evaluate(NATIVE, request), PREFIX) == verdict(evaluate(PODGATE, request))


def test_kubectl_debug_is_judged_only_when_it_adds_an_ephemeral_container() -> None:
    # Pod Security Admission (podSecurityUpdates) judges an ephemeralcontainers update only when it adds
    # or changes an ephemeral container; the export must agree, on a pod that already violates.
    review = json.loads((SHARED_FIXTURES / "pod-update-ephemeralcontainers-kubectl-debug.json").read_text())
    base = review_request(review)
    assert base.object is not None and base.old_object is not None
    privileged = copy.deepcopy(dict(base.object))
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True, "runAsNonRoot": True}
    privileged["spec"]["securityContext"] = {"runAsNonRoot": True}
    unchanged = replace(base, object=privileged, old_object=privileged)
    added = replace(
        base,
        object=privileged,
        old_object={**privileged, "spec": {**privileged["spec"], "ephemeralContainers": []}},
    )
    for request_ in (unchanged, added):
        request_ = with_namespace_labels(request_)
        assert verdict(evaluate(NATIVE, request_), PREFIX) == verdict(evaluate(PODGATE, request_))
    # (Policies without podSecurityUpdates, e.g. network-labels, judge every kubectl debug in full.)
    assert "pod-security-baseline" not in verdict(evaluate(PODGATE, with_namespace_labels(unchanged)))[1]
    assert "pod-security-baseline" in verdict(evaluate(PODGATE, with_namespace_labels(added)))[1]


def test_kube_system_stays_excluded() -> None:
    request = with_namespace_labels(Request(object=pod(), namespace="kube-system"))
    assert evaluate(NATIVE, request).allowed
    assert not evaluate(NATIVE, with_namespace_labels(Request(object=pod()))).allowed


def export_text(spec: str) -> Any:
    doc = PolicyDocument.model_validate(yaml.safe_load(POLICY + spec))
    return export_documents([doc])


def test_left_out_is_reported_never_approximated() -> None:
    images = export_text("  exemptions: {images: ['docker.io/library/*']}\n  rules: [{check: no-root}]\n")
    assert images.documents == []
    assert images.left_out == ["p: image exemptions apply per container; CEL would judge the whole pod"]
    params = export_text(
        "  strictUpdates: true\n  rules: [{name: r, params: {a: 1}, validations: [{expression: 'params.a == 1'}]}]\n"
    )
    assert params.documents == []
    assert params.left_out[0].startswith("p/r: inline params have no native equivalent")


def test_exemptions_namespaces_and_expression_rules_are_exported_exactly() -> None:
    spec = (
        "  strictUpdates: true\n"
        "  actions: [Warn]\n"
        "  match: {namespaces: ['team-*', prod], excludedNamespaces: ['team-x?']}\n"
        "  exemptions: {users: [alice], groups: ['ops-*'], serviceAccounts: ['kube-system:*']}\n"
        "  rules:\n"
        "    - name: named\n"
        "      matchConditions: [{name: c, expression: \"object.metadata.name != 'skip'\"}]\n"
        '      validations: [{expression: "object.metadata.name.size() < 5", message: short names}]\n'
    )
    result = export_text(spec)
    assert result.left_out == []
    native = load_policy_text(yaml.safe_dump_all(result.documents), "e.yaml")
    original = load_policy_text(POLICY + spec, "o.yaml")
    from webhook.policy import UserInfo

    long_name = pod()
    long_name["metadata"]["name"] = "a-long-name"
    skip = copy.deepcopy(long_name)
    skip["metadata"]["name"] = "skip"
    cases = [
        (long_name, "team-a", UserInfo()),
        (long_name, "prod", UserInfo()),
        (long_name, "dev", UserInfo()),
        (long_name, "team-x1", UserInfo()),
        (long_name, "team-a", UserInfo(username="alice")),
        (long_name, "team-a", UserInfo(username="bob", groups=("ops-sre",))),
        (long_name, "team-a", UserInfo(username="system:serviceaccount:kube-system:ctrl")),
        (long_name, "team-a", UserInfo(username="system:serviceaccount:default:ctrl")),
        (skip, "team-a", UserInfo()),
    ]
    for obj, namespace, user in cases:
        request = with_namespace_labels(Request(object=obj, namespace=namespace, user=user))
        ours, theirs = evaluate(original, request), evaluate(native, request)
        assert (len(ours.warnings), ours.allowed) == (len(theirs.warnings), theirs.allowed), (namespace, user)


@given(st.text(alphabet="ab*?[]!-.^\\", max_size=8), st.text(alphabet="ab-.[]!^\\", max_size=6))
@settings(max_examples=300, deadline=None)
def test_glob_to_re2_matches_like_fnmatch(glob: str, name: str) -> None:
    program = admission_env().compile(f"object.matches({json.dumps(glob_to_re2(glob))})")
    result = program.eval(data={"object": name})
    assert result.plain_value() == fnmatch.fnmatchcase(name, glob)


def test_cli_export_writes_manifests_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "floor.yaml"
    assert main(["export", "vap", str(POLICIES), "-o", str(out)]) == 0
    report = capsys.readouterr().err
    assert "exported: no-root/no-root" in report
    kinds = [d["kind"] for d in yaml.safe_load_all(out.read_text())]
    assert kinds.count("ValidatingAdmissionPolicy") == kinds.count("ValidatingAdmissionPolicyBinding") > 0
    assert "&id" not in out.read_text()  # plain YAML, no anchors
    assert main(["export", "vap", "--strict", str(POLICIES), "-o", str(out)]) == 1  # UPDATE is left out
    assert main(["lint", str(out)]) == 0


def test_cli_export_refuses_an_invalid_policy_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY + "  rules: [{name: r, validations: [{expression: 'object.('}]}]\n")
    assert main(["export", "vap", str(bad)]) == 2
    assert "spec.rules[0].validations[0].expression: CEL compile error" in capsys.readouterr().err


def test_shipped_policies_load_unchanged() -> None:
    assert load_policies(POLICIES).names
