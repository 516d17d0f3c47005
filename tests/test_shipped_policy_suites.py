"""Every case of the shipped suites for no-privileged, trusted-registries, resource-limits and
network-labels, run as a pytest case (ids like `no-privileged/privileged-container-is-denied`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import POLICIES
from suite_harness import load_suite, run_case

SUITES = [POLICIES / "tests" / name / "suite.yaml" for name in
          ("no-privileged", "trusted-registries", "resource-limits", "network-labels")]  # fmt: skip


def cases() -> list[Any]:
    found = []
    for path in SUITES:
        if not path.exists():
            continue
        _, suite_cases = load_suite(path)
        for case in suite_cases:
            found.append(pytest.param(path, case["name"], id=f"{path.parent.name}/{case['name']}"))
    return found


@pytest.mark.parametrize(("suite", "name"), cases())
def test_suite_case(suite: Path, name: str) -> None:
    policies, suite_cases = load_suite(suite)
    (case,) = [c for c in suite_cases if c["name"] == name]
    run_case(suite.parent, policies, case)


def test_every_shipped_check_policy_has_a_suite_with_pass_and_fail_cases() -> None:
    for path in SUITES:
        _, suite_cases = load_suite(path)
        fixtures = [c["object"] for c in suite_cases if isinstance(c["object"], str)]
        assert any(f.startswith("pass-") for f in fixtures), path
        assert any(f.startswith("fail-") for f in fixtures), path
        on_disk = {p.name for p in path.parent.glob("*.yaml")} - {"suite.yaml"}
        used = (
            set(fixtures)
            | {c.get("oldObject") for c in suite_cases}
            | {c["expect"].get("patched") for c in suite_cases}
        )
        assert on_disk <= used, f"fixtures no case uses: {sorted(on_disk - used)}"
