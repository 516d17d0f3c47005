"""The Pod Security Standards checks and policies, run through `evaluate` on the suites on disk.

`policies/pod-security/tests/{baseline,restricted}/suite.yaml` (written by tools/gen_pss_fixtures.py)
list every case with the exact violations expected: check id and field path. Each case is checked
here directly through the engine, independently of the `podgate test` runner.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import POLICIES, ROOT
from webhook.policy.engine import Request, evaluate
from webhook.policy.loader import PolicyLoadError, load_policies, load_policy_text
from webhook.policy.model import PolicySet
from webhook.policy.registry import CHECKS

PSS = POLICIES / "pod-security"
SUITES = {level: PSS / "tests" / level / "suite.yaml" for level in ("baseline", "restricted")}
PSS_CHECKS = sorted(c for c in CHECKS if c.startswith("pss-"))
REPLACED = {  # restricted check -> the baseline check it supersedes (as PSA's OverrideCheckIDs)
    "pss-volume-types": "pss-host-path-volumes",
    "pss-seccomp-restricted": "pss-seccomp-baseline",
    "pss-capabilities-restricted": "pss-capabilities-baseline",
    "pss-proc-mount-restricted": "pss-proc-mount-baseline",
}


def load_suite(level: str) -> dict[str, Any]:
    with open(SUITES[level], encoding="utf-8") as f:
        suite = yaml.safe_load(f)
    assert suite["kind"] == "PolicyTest"
    return dict(suite)


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def suite_policies(level: str) -> PolicySet:
    suite = load_suite(level)
    return load_policies(*(SUITES[level].parent / p for p in suite["spec"]["policies"]))


def cases() -> list[Any]:
    found = []
    for level in SUITES:
        for case in load_suite(level)["spec"]["cases"]:
            found.append(pytest.param(level, case, id=f"{level}/{case['name']}"))
    return found


@pytest.fixture(scope="module")
def policy_sets() -> dict[str, PolicySet]:
    return {level: suite_policies(level) for level in SUITES}


@pytest.mark.parametrize(("level", "case"), cases())
def test_suite_case(level: str, case: dict[str, Any], policy_sets: dict[str, PolicySet]) -> None:
    folder = SUITES[level].parent
    old = load_yaml(folder / case["oldObject"]) if "oldObject" in case else None
    request = Request(
        object=load_yaml(folder / case["object"]),
        operation=case.get("operation", "CREATE"),
        old_object=old,
        subresource=case.get("subResource", ""),
    )
    decision = evaluate(policy_sets[level], request)
    expect = case["expect"]
    got = Counter((v.policy, v.rule, v.path) for v in decision.violations)
    wanted = Counter((v["policy"], v.get("rule", v["policy"]), v["path"]) for v in expect["violations"])
    assert got == wanted, [v.message for v in decision.violations]
    assert decision.allowed is expect["allowed"]
    assert case["name"].startswith("pass-" if expect["allowed"] else "fail-")
    for v in expect["violations"]:
        if "message" in v:
            assert any(re.search(v["message"], d.message) for d in decision.violations)


def test_every_pss_check_has_a_failing_case() -> None:
    failing: set[str] = set()
    for level in SUITES:
        for case in load_suite(level)["spec"]["cases"]:
            failing.update(v["rule"] for v in case["expect"]["violations"])
    assert failing == set(PSS_CHECKS)
    assert len(PSS_CHECKS) == 19


def test_restricted_is_baseline_with_supersessions_plus_restricted_controls(
    policy_sets: dict[str, PolicySet],
) -> None:
    (baseline,) = policy_sets["baseline"]
    (restricted,) = policy_sets["restricted"]
    baseline_checks = {r.check for r in baseline.rules}
    restricted_checks = {r.check for r in restricted.rules}
    assert baseline_checks | restricted_checks == set(PSS_CHECKS)
    assert restricted_checks >= baseline_checks - set(REPLACED.values())
    assert not restricted_checks & set(REPLACED.values())
    assert set(REPLACED) <= restricted_checks
    for policy in (baseline, restricted):
        assert policy.match.namespace_matches("shop") and not policy.match.namespace_matches("kube-system")


def test_shipped_paths_and_names() -> None:
    names = [p.name for p in load_policies(PSS / "baseline.yaml", PSS / "restricted.yaml")]
    assert names == ["pod-security-baseline", "pod-security-restricted"]


def test_messages_name_container_field_and_fix(policy_sets: dict[str, PolicySet]) -> None:
    with open(PSS / "tests" / "baseline" / "fail-privileged-init-container.yaml", encoding="utf-8") as f:
        obj = yaml.safe_load(f)
    (violation,) = evaluate(policy_sets["baseline"], Request(object=obj)).violations
    assert violation.message == (
        'init container "init" (spec.initContainers[0]) must not run privileged: '
        "set securityContext.privileged to false [policy pod-security-baseline]"
    )
    assert violation.value is True


def test_kube_system_is_not_judged(policy_sets: dict[str, PolicySet]) -> None:
    with open(PSS / "tests" / "restricted" / "fail-bare-pod.yaml", encoding="utf-8") as f:
        obj = yaml.safe_load(f)
    assert not evaluate(policy_sets["restricted"], Request(object=obj)).allowed
    assert evaluate(policy_sets["restricted"], Request(object=obj, namespace="kube-system")).allowed


def test_update_judges_what_the_update_adds(policy_sets: dict[str, PolicySet]) -> None:
    """`kubectl debug` adds an ephemeral container: judged in full on pods/ephemeralcontainers."""
    with open(PSS / "tests" / "restricted" / "pass-restricted-pod.yaml", encoding="utf-8") as f:
        old = yaml.safe_load(f)
    new = yaml.safe_load(yaml.safe_dump(old))
    new["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "busybox:1.36"}]
    request = Request(object=new, old_object=old, operation="UPDATE", subresource="ephemeralcontainers")
    decision = evaluate(policy_sets["restricted"], request)
    assert {v.rule for v in decision.violations} == {
        "pss-privilege-escalation",
        "pss-capabilities-restricted",
    }
    assert all(v.path.startswith("spec.ephemeralContainers[0].") for v in decision.violations)


def test_check_modules_document_fields_and_values() -> None:
    for check_id in PSS_CHECKS:
        module = ROOT / "webhook" / "policy" / "checks" / f"{check_id.replace('-', '_')}.py"
        doc = module.read_text(encoding="utf-8").split('"""')[1]
        assert doc.startswith(f"{check_id}: "), module
        assert "Restricted fields:" in doc and "Allowed values:" in doc, module


def test_docs_table_lists_every_check() -> None:
    doc = (ROOT / "docs" / "pod-security.md").read_text(encoding="utf-8")
    for check_id in PSS_CHECKS:
        assert f"`{check_id}`" in doc, check_id


def test_generated_fixtures_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_pss_fixtures", ROOT / "tools" / "gen_pss_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.main(["--check"]) == 0


def test_suite_fixture_files_all_used() -> None:
    for level, suite_path in SUITES.items():
        cases = load_suite(level)["spec"]["cases"]
        used = {case["object"] for case in cases} | {
            case["oldObject"] for case in cases if "oldObject" in case
        }
        on_disk = {p.name for p in suite_path.parent.glob("*.yaml")} - {"suite.yaml"}
        assert used == on_disk, level


@pytest.mark.parametrize("path", sorted(Path(PSS / "tests").rglob("*.yaml")), ids=lambda p: p.name)
def test_fixtures_are_well_formed(path: Path) -> None:
    """The fixtures are valid pod-bearing objects: no case passes or fails because it is malformed."""
    if path.name == "suite.yaml":
        return
    with open(path, encoding="utf-8") as f:
        obj = yaml.safe_load(f)
    decision = evaluate(suite_policies("baseline"), Request(object=obj))
    assert all(v.policy != "podgate-input" for v in decision.violations)


def test_pod_security_updates_differ_from_the_default_update_rule() -> None:
    """The same image change of an already-violating pod: PSA judges it in full, the default does not."""
    folder = PSS / "tests" / "baseline"
    new = load_yaml(folder / "fail-update-image-of-violating-pod.yaml")
    old = load_yaml(folder / "fail-update-image-of-violating-pod.old.yaml")
    request = Request(object=new, old_object=old, operation="UPDATE")
    text = (PSS / "baseline.yaml").read_text(encoding="utf-8")
    default_rule = load_policy_text(text.replace("  podSecurityUpdates: true", "  podSecurityUpdates: false"))
    assert not evaluate(suite_policies("baseline"), request).allowed
    assert evaluate(default_rule, request).allowed  # the violation was already there: not introduced


def test_update_rules_exclude_each_other() -> None:
    text = (PSS / "baseline.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="strictUpdates and podSecurityUpdates exclude each other"):
        load_policy_text(
            text.replace("  podSecurityUpdates: true", "  podSecurityUpdates: true\n  strictUpdates: true")
        )
