"""The PolicyTest suites of the incident policies hold under the engine.

`podgate test` runs every suite; this reads the fields these suites use (review fixtures, expected
allowed/violations/warnings/auditAnnotations) so the suites are checked on this branch as well.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import POLICIES

from webhook.inputs import review_request
from webhook.policy import evaluate, load_policies

SUITES = sorted((POLICIES / "tests").glob("*/suite.yaml"))
INCIDENT_SUITES = [s for s in SUITES if s.parent.name in ("forensic-hold", "exec-control")]


def cases() -> list[Any]:
    found = []
    for suite_file in INCIDENT_SUITES:
        suite = yaml.safe_load(suite_file.read_text())
        for case in suite["spec"]["cases"]:
            found.append(pytest.param(suite_file, suite, case, id=f"{suite_file.parent.name}/{case['name']}"))
    return found


@pytest.mark.parametrize(("suite_file", "suite", "case"), cases())
def test_case(suite_file: Path, suite: dict[str, Any], case: dict[str, Any]) -> None:
    base = suite_file.parent
    policies = load_policies(*(base / p for p in suite["spec"]["policies"]))
    review = json.loads((base / case["object"]).read_text())
    decision = evaluate(policies, review_request(review))
    expect = case["expect"]
    assert decision.allowed is expect["allowed"], decision
    if "violations" in expect:
        assert len(decision.violations) == len(expect["violations"]), decision.violations
        for wanted, got in zip(expect["violations"], decision.violations, strict=True):
            assert got.policy == wanted["policy"]
            assert got.rule == wanted.get("rule", got.rule)
            assert got.path == wanted.get("path", got.path)
            assert re.search(wanted.get("message", ""), got.message), got.message
    if "warnings" in expect:
        assert len(decision.warnings) == len(expect["warnings"])
        for pattern, warning in zip(expect["warnings"], decision.warnings, strict=True):
            assert re.search(pattern, warning)
    if "auditAnnotations" in expect:
        assert set(decision.audit_annotations) == set(expect["auditAnnotations"])
        for key, pattern in expect["auditAnnotations"].items():
            assert re.search(pattern, decision.audit_annotations[key])


def test_every_fixture_is_used() -> None:
    for suite_file in INCIDENT_SUITES:
        used = {c["object"] for c in yaml.safe_load(suite_file.read_text())["spec"]["cases"]}
        assert used == {p.name for p in suite_file.parent.glob("*.json")}, suite_file
