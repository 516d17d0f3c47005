"""Run a PolicyTest suite (docs/testing-policies.md) through the engine, for pytest.

The shipped suites are the users' own test format; this runs them from pytest so that every case
of every shipped suite is also a pytest case, with the runner's rules: exact violations, patches
applied with the independent pyjsonpatch, and idempotence of every mutation.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pyjsonpatch

from webhook.policy import Request, UserInfo, evaluate, load_policies, mutate
from webhook.policy.yamlio import load_documents


def load_suite(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    (suite,) = load_documents(path)
    assert suite["kind"] == "PolicyTest", path
    policies = load_policies(*(path.parent / p for p in suite["spec"]["policies"]))
    return policies, suite["spec"]["cases"]


def fixture(folder: Path, value: Any) -> Any:
    if isinstance(value, str):
        (document,) = load_documents(folder / value)
        return document
    return value


def request_for(folder: Path, case: dict[str, Any], obj: Any) -> Request:
    user = case.get("userInfo") or {}
    return Request(
        object=obj,
        operation=case.get("operation", "CREATE"),
        old_object=fixture(folder, case["oldObject"]) if "oldObject" in case else None,
        subresource=case.get("subResource", ""),
        namespace=case.get("namespace"),
        namespace_labels=case.get("namespaceLabels"),
        user=UserInfo(user.get("username", ""), tuple(user.get("groups", ()))),
        dry_run=case.get("dryRun", False),
    )


def run_case(folder: Path, policies: Any, case: dict[str, Any]) -> None:
    """Assert everything the case expects, and the rules that hold for every case."""
    expect = case["expect"]
    obj = fixture(folder, case["object"])
    request = request_for(folder, case, obj)
    decision = evaluate(policies, request)
    found = [v.as_dict() for v in decision.violations]
    assert decision.allowed is expect["allowed"], found
    if "violations" in expect:
        _match_violations(found, expect["violations"])
    if "warnings" in expect:
        assert len(decision.warnings) == len(expect["warnings"]), decision.warnings
        for warning, pattern in zip(decision.warnings, expect["warnings"], strict=True):
            assert re.search(pattern, warning), (pattern, warning)
    if "auditAnnotations" in expect:
        assert set(decision.audit_annotations) == set(expect["auditAnnotations"]), decision.audit_annotations
        for key, pattern in expect["auditAnnotations"].items():
            assert re.search(pattern, decision.audit_annotations[key]), (pattern, key)

    original = copy.deepcopy(obj)
    result = mutate(policies, request)
    assert obj == original, "mutate changed the object it was given"
    applied = pyjsonpatch.apply_patch(copy.deepcopy(obj), result.patch, mutate=False).obj
    assert applied == result.object, "the patch does not yield the mutated object"
    again = mutate(policies, request_for(folder, case, applied))
    assert again.patch == [], f"mutation is not idempotent: {again.patch}"
    if "patch" in expect:
        assert result.patch == expect["patch"], result.patch
    if "patched" in expect:
        assert applied == fixture(folder, expect["patched"])
    if "patchedAllowed" in expect:
        assert evaluate(policies, request_for(folder, case, applied)).allowed is expect["patchedAllowed"]


def _match_violations(found: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    left = list(found)
    for want in expected:
        for i, got in enumerate(left):
            if (
                got["policy"] == want["policy"]
                and want.get("rule", got["rule"]) == got["rule"]
                and want.get("path", got["path"]) == got["path"]
                and re.search(want.get("message", ""), got["message"])
            ):
                del left[i]
                break
        else:
            raise AssertionError(f"expected violation not found: {want}\nfound: {found}")
    assert not left, f"unexpected violations: {left}"
