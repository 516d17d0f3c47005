"""Native ValidatingAdmissionPolicy + Binding (+ params) manifests, judged as the API server would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES, pod

from webhook.cli import main
from webhook.policy import PolicyLoadError, Request, evaluate, load_policies, load_policy_text

REPLICA_LIMIT = FIXTURES / "vap" / "replica-limit.yaml"


def deployment(replicas: int, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": "x"}]}}},
    }


def limited_pod(memory: str) -> dict[str, Any]:
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = {"limits": {"memory": memory}}
    return obj


def test_binding_becomes_a_policy_with_its_actions_params_and_selectors() -> None:
    policies = load_policies(REPLICA_LIMIT)
    assert policies.names == ("memory-limits-warn", "replica-limit-prod")
    prod = {"kubernetes.io/metadata.name": "default", "env": "prod"}
    denied = evaluate(policies, Request(object=deployment(5), namespace_labels=prod))
    assert not denied.allowed
    (v,) = denied.violations
    assert (v.policy, v.rule, v.message) == (
        "replica-limit-prod",
        "replica-limit",
        "replicas must be no greater than 3 [policy replica-limit-prod]",
    )
    assert evaluate(policies, Request(object=deployment(3), namespace_labels=prod)).allowed
    assert evaluate(policies, Request(object=deployment(5), namespace_labels={"env": "dev"})).allowed


def test_warn_and_audit_bindings_and_kubernetes_quantities() -> None:
    policies = load_policies(REPLICA_LIMIT)
    warned = evaluate(policies, Request(object=limited_pod("2Gi")))
    assert warned.allowed
    assert warned.warnings == (
        "every container needs a memory limit of at most 1Gi [policy memory-limits-warn]",
    )
    assert set(warned.audit_annotations) == {"memory-limits-warn"}
    assert warned.violations[0].path == "spec.containers"
    assert not evaluate(policies, Request(object=limited_pod("512Mi"))).violations
    # The policy matches CREATE only: an UPDATE is not judged.
    assert not evaluate(
        policies, Request(object=limited_pod("2Gi"), operation="UPDATE", old_object=pod())
    ).violations


def vap(
    spec: str, binding: str = "validationActions: [Deny]", extra: str = "", policy_name: str = "p"
) -> str:
    return f"""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: p}}
spec:
{spec}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: b}}
spec:
  policyName: {policy_name}
  {binding}
{extra}"""


PODS = """\
  matchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        load_policy_text(text, "vap.yaml")
    return [str(p) for p in info.value.problems]


def test_cel_errors_point_at_the_manifest_field() -> None:
    text = vap(
        PODS + "  validations: [{expression: 'object.spec.('}]\n  variables: [{name: v, expression: 'nope'}]"
    )
    found = problems(text)
    assert found[0].startswith(
        "vap.yaml: document 0: spec.variables[0].expression: CEL compile error at line 1"
    )
    assert found[1].startswith("vap.yaml: document 0: spec.validations[0].expression: CEL compile error")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            vap(PODS + "  validations: [{expression: 'true'}]", policy_name="other"),
            "spec.policyName: no ValidatingAdmissionPolicy named 'other'",
        ),
        (
            vap(PODS + "  validations: [{expression: 'true'}]", "validationActions: []"),
            "spec.validationActions: required",
        ),
        (
            vap(
                "  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [services]}]}\n  validations: [{expression: 'true'}]"
            ),
            "matches no pod-bearing kind",
        ),
        (
            vap(
                PODS + "  paramKind: {apiVersion: v1, kind: ConfigMap}\n  validations: [{expression: 'true'}]"
            ),
            "spec.paramRef: the policy has a paramKind (ConfigMap): required",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            "expected apiVersion podgate.io/v1alpha1, kind Policy (or a ValidatingAdmissionPolicy",
        ),
    ],
)
def test_binding_problems_name_the_document_and_field(text: str, expected: str) -> None:
    assert any(expected in p for p in problems(text)), problems(text)


PARAMS = (
    PODS
    + "  paramKind: {apiVersion: v1, kind: ConfigMap}\n  validations: [{expression: \"object.metadata.name in params.data.allowed.split(',')\"}]"
)


def test_params_by_name_selector_and_not_found() -> None:
    config = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: names, namespace: default, labels: {use: names}}\ndata: {allowed: 'app,web'}\n"
    other = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: more, namespace: default, labels: {use: names}}\ndata: {allowed: 'app'}\n"
    by_name = load_policy_text(
        vap(
            PARAMS,
            "validationActions: [Deny]\n  paramRef: {name: names, namespace: default, parameterNotFoundAction: Deny}",
            config,
        ),
        "v.yaml",
    )
    assert evaluate(by_name, Request(object=pod())).allowed
    by_selector = load_policy_text(
        vap(
            PARAMS,
            "validationActions: [Deny]\n  paramRef: {selector: {matchLabels: {use: names}}, namespace: default, parameterNotFoundAction: Deny}",
            config + other,
        ),
        "v.yaml",
    )
    renamed = pod()
    renamed["metadata"]["name"] = "web"
    decision = evaluate(by_selector, Request(object=renamed))  # every selected params object must pass
    assert [v.rule for v in decision.violations] == ["p-more"]
    missing_deny = load_policy_text(
        vap(
            PARAMS,
            "validationActions: [Deny]\n  paramRef: {name: gone, namespace: default, parameterNotFoundAction: Deny}",
        ),
        "v.yaml",
    )
    assert (
        "no params object for binding b"
        in evaluate(missing_deny, Request(object=pod())).violations[0].message
    )
    allow = load_policy_text(
        vap(
            PARAMS,
            "validationActions: [Deny]\n  paramRef: {name: gone, namespace: default, parameterNotFoundAction: Allow}",
        ),
        "v.yaml",
    )
    assert len(allow) == 0  # Allow: the binding is left out


def test_ephemeral_containers_subresource_is_matched_exactly() -> None:
    spec = """\
  matchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}
      - {apiGroups: [''], apiVersions: [v1], operations: [UPDATE], resources: [pods/ephemeralcontainers]}
  validations: [{expression: 'false', message: judged}]"""
    policies = load_policy_text(vap(spec), "v.yaml")
    assert not evaluate(policies, Request(object=pod())).allowed
    assert not evaluate(
        policies,
        Request(object=pod(), operation="UPDATE", old_object=pod(), subresource="ephemeralcontainers"),
    ).allowed
    assert evaluate(policies, Request(object=pod(), operation="UPDATE", old_object=pod())).allowed


def test_cli_import_writes_podgate_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "imported.yaml"
    assert main(["import", "vap", str(REPLICA_LIMIT), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "imported: binding replica-limit-prod" in err
    assert "services: no pod spec, not judged by podgate" in err
    docs = list(yaml.safe_load_all(out.read_text()))
    assert [d["kind"] for d in docs] == ["Policy", "Policy"]
    imported = load_policies(out)
    prod = {"kubernetes.io/metadata.name": "default", "env": "prod"}
    assert not evaluate(imported, Request(object=deployment(5), namespace_labels=prod)).allowed


def test_cli_import_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "apiVersion: podgate.io/v1alpha1\nkind: Policy\nmetadata: {name: x}\nspec: {description: d, remediation: r, rules: [{check: no-root}]}\n"
    )
    assert main(["import", "vap", str(plain)]) == 2
    assert "no ValidatingAdmissionPolicy or binding found" in capsys.readouterr().err
    assert main(["import", "vap", str(tmp_path / "missing.yaml")]) == 2


def test_kubernetes_match_condition_names_and_failure_policy_ignore() -> None:
    spec = (
        PODS
        + """\
  failurePolicy: Ignore
  matchConditions:
    - {name: Exclude_Leases, expression: "object.metadata.name != 'skip'"}
  validations: [{expression: "object.spec.nope == 1"}]"""
    )
    policies = load_policy_text(vap(spec), "v.yaml")
    decision = evaluate(policies, Request(object=pod()))
    assert decision.allowed  # the evaluation error is ignored, as failurePolicy says
    assert "ignored because its failurePolicy is Ignore" in decision.notes[0]


def test_podgate_test_runs_native_policies_with_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(FIXTURES / "vap")]) == 0
    assert "3 case(s): 3 passed, 0 failed" in capsys.readouterr().out


def test_podgate_evaluate_judges_with_native_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(deployment(5)))
    args = ["evaluate", "-p", str(REPLICA_LIMIT), str(manifest)]
    assert main([*args, "--namespace-labels", "env=prod"]) == 1
    assert "replicas must be no greater than 3 [policy replica-limit-prod]" in capsys.readouterr().out
    assert main([*args, "--namespace-labels", "env=dev"]) == 0
