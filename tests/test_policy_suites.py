"""Every PolicyTest suite shipped under policies/ passes (suites are discovered, not listed here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POLICIES

from webhook.policy.loader import policy_files
from webhook.suites import discover, load_suite, run_suite
from webhook.suites.report import as_text

SUITES = sorted(discover([str(POLICIES)]))


def test_the_shipped_library_has_suites() -> None:
    assert any(path.parent.name == "no-root" for path in SUITES)


@pytest.mark.parametrize("path", SUITES, ids=lambda p: str(p.relative_to(POLICIES)))
def test_suite_passes(path: Path) -> None:
    result = run_suite(load_suite(path))
    assert result.cases, "a suite without cases proves nothing"
    assert result.passed, as_text([result], [])


def test_every_shipped_policy_file_is_covered_by_a_suite() -> None:
    covered: set[Path] = set()
    for path in SUITES:
        covered.update(Path(file).resolve() for file in policy_files(load_suite(path).policies.sources))
    missing = [str(f.relative_to(POLICIES)) for f in policy_files([POLICIES]) if f.resolve() not in covered]
    assert not missing, f"policies without a suite: {missing}"


def test_every_fixture_beside_a_suite_is_used() -> None:
    """A fixture no case names tests nothing (kept from the incident branch's interim harness, for all
    suites): every review/object file in a suite's folder is some case's object, oldObject or golden."""
    unused = []
    for folder in sorted({path.parent for path in SUITES}):
        used: set[Path] = set()
        for path in SUITES:
            if path.parent != folder:
                continue
            suite = load_suite(path)
            used.update(Path(f) for f in suite.policies.sources)  # a policy copy beside its suite
            for case in suite.cases:
                doc = case.document
                used.update(folder / f for f in (doc.object, doc.old_object) if isinstance(f, str))
                used.update([case.golden] if case.golden else [])
        fixtures = {f for f in folder.iterdir() if f.suffix in (".json", ".yaml", ".yml")}
        used = {u.resolve() for u in used}
        unused += sorted(
            str(f.relative_to(POLICIES)) for f in fixtures - set(SUITES) if f.resolve() not in used
        )
    assert not unused, f"fixtures no case uses: {unused}"
