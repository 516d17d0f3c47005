"""PolicyTest `targetMetadata`: the held pod's metadata the webhook's cache supplies for a CONNECT or an
eviction; refused, naming the case, on requests that carry their object."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import POLICIES

from webhook.suites import load_suite, run_suite
from webhook.suites.loader import SuiteError

EXEC_REVIEW = POLICIES / "tests" / "forensic-hold" / "fail-exec-hold-unknown.json"
HELD = {"labels": {"podgate.io/hold": "true"}, "annotations": {"podgate.io/held-by": "rhea@example.com"}}


def suite(tmp_path: Path, case: dict[str, object]) -> Path:
    path = tmp_path / "suite.yaml"
    document = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "PolicyTest",
        "metadata": {"name": "t"},
        "spec": {"policies": [str(POLICIES / "forensic-hold.yaml")], "cases": [case]},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_held_target_is_judged_and_an_unheld_one_is_not(tmp_path: Path) -> None:
    held = {"name": "held", "object": str(EXEC_REVIEW), "targetMetadata": HELD, "expect": {"allowed": False}}
    assert run_suite(load_suite(suite(tmp_path, held))).passed
    wrong = dict(held, expect={"allowed": True})  # the same case expecting the opposite fails
    assert not run_suite(load_suite(suite(tmp_path, wrong))).passed


def test_target_metadata_on_a_request_that_carries_its_object_is_an_error(tmp_path: Path) -> None:
    case = {
        "name": "create",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}},
        "targetMetadata": HELD,
        "expect": {"allowed": True},
    }
    with pytest.raises(SuiteError) as raised:
        load_suite(suite(tmp_path, case))
    (problem,) = raised.value.problems
    assert "spec.cases[0] (create): targetMetadata: only CONNECT" in problem
    assert "this case is CREATE (no subresource)" in problem
