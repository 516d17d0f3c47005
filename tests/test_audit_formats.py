"""Every report format from the same run, checked against its real schema; evidence that verifies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
import yaml
from audit_helpers import NO_ROOT, bad_pod, good_pod, owned_by, templated, write_policy
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhook.audit.evidence import policy_set_evidence, verify
from webhook.audit.formats import json_report, junit, policyreport, sarif, text
from webhook.audit.formats.context import ReportContext
from webhook.audit.run import audit
from webhook.audit.stream import Located
from webhook.policy import load_policies

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@pytest.fixture(scope="module")
def sarif_schema() -> Any:
    return json.loads((SCHEMAS / "sarif-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def policyreport_schema() -> Any:
    return json.loads((SCHEMAS / "policyreport-v1alpha2.json").read_text())


def _context(tmp_path: Path, **kw: Any) -> ReportContext:
    warn = write_policy(tmp_path / "set", "warn-root", actions="[Warn]", excluded="[]")
    policies = load_policies(NO_ROOT, warn)
    deployment = templated("Deployment", "web", bad_pod("t"))
    objects = [
        Located("manifests/web.yaml", 0, None, 1, deployment),
        Located("manifests/web.yaml", 1, None, 14, owned_by(bad_pod("web-1"), deployment)),
        Located("dump.json", 0, 0, None, bad_pod("a", "shop")),
        Located("dump.json", 0, 1, None, good_pod("b", "shop")),
        Located("dump.json", 0, 2, None, bad_pod('c <&> "q"', "kube-system")),
        Located("-", 0, None, None, {**bad_pod("nons"), "metadata": {"name": "nons", "uid": "u9"}}),
    ]
    result = audit(objects, policies)
    evidence = {"policySet": policy_set_evidence(policies), "startedAt": "2026-12-02T00:00:00.000Z"}
    return ReportContext(result=result, evidence=evidence, **kw)


def test_junit_validates_against_the_jenkins_xsd(tmp_path: Path) -> None:
    xml = junit.render(_context(tmp_path))
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(xml)
    document = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).to_dict(xml)
    suites = {s["@name"]: s for s in document["testsuite"]}
    assert set(suites) == {"no-root", "warn-root"}
    failing = [c["@name"] for c in suites["no-root"]["testcase"] if "failure" in c]
    assert failing == ["Deployment/shop/web", "Pod/nons", "Pod/shop/a"]
    assert suites["no-root"]["@failures"] == "3"


def test_junit_schema_check_can_fail() -> None:
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(
            "<testsuites><testsuite name='x'/></testsuites>"
        )


def test_sarif_validates_against_the_oasis_schema(tmp_path: Path, sarif_schema: Any) -> None:
    log = json.loads(sarif.render(_context(tmp_path)))
    jsonschema.validate(log, sarif_schema)
    run = log["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"no-root/no-root", "warn-root/no-root"}
    located = [r["locations"][0] for r in run["results"] if "physicalLocation" in r["locations"][0]]
    web = next(loc for loc in located if loc["logicalLocations"][0]["name"] == "Deployment/shop/web")
    assert web["physicalLocation"] == {
        "artifactLocation": {"uri": "manifests/web.yaml"},
        "region": {"startLine": 1},
    }
    levels = {r["level"] for r in run["results"]}
    assert levels == {"error", "warning"}
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    broken = copy.deepcopy(log)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, sarif_schema)


def test_policyreports_validate_and_are_capped(tmp_path: Path, policyreport_schema: Any) -> None:
    documents = list(yaml.safe_load_all(policyreport.render(_context(tmp_path))))
    for document in documents:
        jsonschema.validate(document, policyreport_schema)
    by_namespace = {d["metadata"].get("namespace", ""): d for d in documents}
    assert by_namespace[""]["kind"] == "ClusterPolicyReport"
    shop = by_namespace["shop"]
    assert shop["kind"] == "PolicyReport" and shop["summary"]["pass"] >= 1
    assert {r["result"] for r in shop["results"]} == {"fail", "warn"}
    assert shop["results"][0]["severity"] == "high"  # Deny first

    capped = policyreport.reports(_context(tmp_path, max_results_per_report=1))
    shop = next(d for d in capped if d["metadata"].get("namespace") == "shop")
    assert len(shop["results"]) == 1 and shop["results"][0]["result"] == "fail"
    assert shop["metadata"]["annotations"]["podgate.io/omitted-results"] == "3"
    assert shop["summary"]["fail"] == 2 and shop["summary"]["warn"] == 2  # the summary still counts all
    tiny = policyreport.reports(_context(tmp_path, max_bytes_per_report=2500))
    assert all(len(json.dumps(d)) < 4000 for d in tiny)

    bad = copy.deepcopy(documents[0])
    bad["results"][0]["result"] = "denied"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, policyreport_schema)


def test_json_report_is_sealed_and_detects_any_edit(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    context = _context(tmp_path, extra={"signing_key": key})
    report = json.loads(json_report.render(context))
    assert report["kind"] == "AuditReport"
    assert report["evidence"]["policySet"]["digest"].startswith("sha256:")
    assert [f["path"] for f in report["evidence"]["policySet"]["files"]] == sorted(
        [str(NO_ROOT), str(tmp_path / "set" / "warn-root.yaml")]
    )
    web = next(r for r in report["results"] if r["name"] == "web")
    assert web["ownedObjectsFolded"] == 1 and web["line"] == 1
    assert verify(report, key.public_key()) == []

    edited = copy.deepcopy(report)
    edited["results"].pop()
    assert verify(edited, key.public_key())[0].startswith("`integrity.digest` does not match")
    resealed = copy.deepcopy(edited)  # an attacker can recompute the digest, not the signature
    resealed["integrity"]["digest"] = (
        __import__("hashlib")
        .sha256(__import__("webhook.audit.evidence", fromlist=["canonical"]).canonical(resealed))
        .hexdigest()
    )
    assert verify(resealed) == []
    assert verify(resealed, key.public_key()) == ["the signature does not verify with the given public key"]
    assert verify(report, Ed25519PrivateKey.generate().public_key()) == [
        "the signature does not verify with the given public key"
    ]


def test_text_summary_counts_per_policy_and_namespace(tmp_path: Path) -> None:
    out = text.render(_context(tmp_path, top=2))
    assert "4 object(s) fail: 3 would be denied, 1 warned, 0 audited" in out
    assert "  no-root: 4/5\n    (no namespace): 1/1\n    shop: 3/4\n" in out
    assert "    kube-system: 1/1" in out  # warned only: no-root excludes kube-system
    assert "Worst offenders (top 2 of 4):" in out
    assert "Deployment/shop/web (manifests/web.yaml: document 0, +1 owned object(s))" in out
