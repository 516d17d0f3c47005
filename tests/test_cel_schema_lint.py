"""`podgate lint` warns on CEL field selections the Kubernetes schema does not have (as the API server's
type check does), and never on correct paths, maps, unknown kinds, the shipped library or its export."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import POLICIES
from test_cel_rules import policy
from test_vap_export import RESULT

from webhook.cli import main
from webhook.policy.cel.schema_lint import _vap_kinds, expression_findings, schema_warnings
from webhook.policy.podspec import POD_KINDS

ALL = sorted(POD_KINDS)


def findings(source: str, kinds: list[str] = ["Pod"]) -> list[str]:  # noqa: B006 - never mutated
    return expression_findings(source, kinds, pod_variables=True)


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("object.spec.containers.all(c, !c.imag.endsWith(':latest'))", "object.spec.containers[].imag"),
        ("has(object.spec.hostNetwrk)", "object.spec.hostNetwrk"),
        ("object.metadata['labelz'] == {}", "object.metadata.labelz"),
        ("object.?spc.orValue(1) == 1", "object.spc"),
        ("oldObject.spec.nodeNme == ''", "oldObject.spec.nodeNme"),
        ("variables.podSpec.containers.exists(c, c.securityContext.privilegd)", None),
        ("variables.podMetadata.anotations.size() > 0", "variables.podMetadata.anotations"),
        ("namespaceObject.metadata.lables.x == 'a'", "namespaceObject.metadata.lables"),
        ("[1].all(i, object.spec.volumes.exists(v, has(v.hostpath)))", "object.spec.volumes[].hostpath"),
    ],
)
def test_a_typo_is_named(source: str, path: str | None) -> None:
    path = path or "variables.podSpec.containers[].securityContext.privilegd"
    assert [f for f in findings(source) if repr(path) in f] != [], findings(source)


@pytest.mark.parametrize(
    "source",
    [
        "object.spec.containers.all(c, !c.image.endsWith(':latest'))",
        "has(object.metadata.labels) && object.metadata.labels['any.key/x'] == 'y'",
        "object.metadata.annotations.exists(k, k.startsWith('a'))",
        "variables.podSpec.containers.all(c, c.securityContext.privileged != true)",
        "variables.podMetadata.labels.x == 'a' && namespaceObject.metadata.labels.y == 'b'",
        "object.spec.overhead.cpu == '1'",  # a map of quantities
        "object.metadata.ownerReferences.all(r, r.kind != '')",
        "object.spec.containers.all(c, c.ports.all(p, p.containerPort > 0))",
        "object.spec.containers.map(c, c.name)[0] != ''",
        "params.anything.at.all == 1 && request.operation == 'CREATE'",  # unknown types: not checked
    ],
)
def test_a_correct_path_is_clean(source: str) -> None:
    assert findings(source) == []


def test_a_path_one_matched_kind_has_is_clean_so_kind_guards_stay_quiet() -> None:
    guarded = "object.kind == 'Pod' ? object.spec.containers : object.spec.template.spec.containers"
    assert findings(guarded, ALL) == []
    assert findings("object.spec.containers.size() > 0", ["Deployment"]) == [
        "apps/v1, Kind=Deployment: undefined field 'object.spec.containers'; the pod spec is variables.podSpec"
    ]
    assert findings("object.spec.tmplate == null", ["Deployment", "Job"]) == [
        "undefined field 'object.spec.tmplate' in every matched kind (Deployment, Job)"
    ]


def test_a_rule_that_defines_pod_spec_itself_is_not_checked_against_the_pod_spec(tmp_path: Path) -> None:
    rules = """\
- name: r
  variables: [{name: podSpec, expression: "{'mine': 1}"}]
  validations: [{expression: "variables.podSpec.mine == 1", message: m}]
- name: s
  validations: [{expression: "variables.podSpec.mine == 1", message: m}]
"""
    (tmp_path / "p.yaml").write_text(policy(rules))
    assert [w.path for w in schema_warnings(tmp_path)] == ["spec.rules[1].validations[0].expression"]


VAP = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: v}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [RESOURCE_GROUP], apiVersions: [v1], operations: [CREATE], resources: [RESOURCE]}
  validations:
  - expression: "object.spec.containers.all(c, c.image != '')"
"""


def test_a_native_vap_is_checked_per_kind_its_resource_rules_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "v.yaml").write_text(VAP.replace("RESOURCE_GROUP", "apps").replace("RESOURCE", "deployments"))
    assert main(["lint", str(tmp_path)]) == 0  # a warning, as on the API server: the policy still runs
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        f"{tmp_path / 'v.yaml'}: document 0: spec.validations[0].expression: warning: type check: "
        "apps/v1, Kind=Deployment: undefined field 'object.spec.containers'"
    ]


@pytest.mark.parametrize(("group", "resource"), [("''", "pods"), ("example.com", "widgets"), ("apps", "'*'")])
def test_pods_and_unknown_kinds_are_clean(tmp_path: Path, group: str, resource: str) -> None:
    # apps/* resolves to the apps kinds, which all lack spec.containers: so '*' in apps warns
    (tmp_path / "v.yaml").write_text(VAP.replace("RESOURCE_GROUP", group).replace("RESOURCE", resource))
    assert len(schema_warnings(tmp_path)) == (1 if resource == "'*'" else 0)


def test_the_shipped_library_and_its_export_give_no_warning(tmp_path: Path) -> None:
    assert schema_warnings(POLICIES) == []
    (tmp_path / "exported.yaml").write_text(yaml.safe_dump_all(RESULT.documents))
    assert schema_warnings(tmp_path) == []
    # the export is really checked: its policies resolve to the pod kinds
    vaps = [d for d in RESULT.documents if d["kind"] == "ValidatingAdmissionPolicy"]
    assert vaps and all(_vap_kinds(d["spec"]) for d in vaps)
