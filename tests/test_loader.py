"""The loader is strict and all-or-nothing: every problem named by file, document and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.policy import PolicyLoadError, load_policies, load_policy_text

GOOD = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: no-root}
spec:
  description: Containers must not run as root.
  remediation: Set runAsNonRoot to true.
  rules: [{check: no-root}]
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        load_policy_text(text, "p.yaml")
    return [str(p) for p in info.value.problems]


def test_a_good_policy_loads_with_defaults() -> None:
    (policy,) = load_policy_text(GOOD).policies
    assert policy.name == "no-root"
    assert policy.actions == ("Deny",)
    assert policy.failure_policy == "Fail"
    assert policy.match.operations == {"CREATE", "UPDATE"}
    assert [r.check for r in policy.rules] == ["no-root"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("rules: [{check: no-root}]", "rules: [{check: no-rot}]"),
            "p.yaml: document 0: spec.rules[0].check: unknown check 'no-rot'",
        ),
        (
            ("rules: [{check: no-root}]", "rules: [{check: no-root, params: {x: 1}}]"),
            "spec.rules[0].params.x: unknown field",
        ),
        (("rules: [{check: no-root}]", "rules: []"), "spec.rules: List should have at least 1 item"),
        (("  rules:", "  colour: red\n  rules:"), "spec.colour: unknown field"),
        (
            ("  rules:", "  actions: [Deny, Warn]\n  rules:"),
            "spec.actions: Deny and Warn may not be combined",
        ),
        (
            ("  rules:", "  actions: [Block]\n  rules:"),
            "spec.actions[0]: Input should be 'Deny', 'Warn' or 'Audit'",
        ),
        (
            ("  rules:", "  strictUpdates: 'yes'\n  rules:"),
            "spec.strictUpdates: Input should be a valid boolean",
        ),
        (("  rules:", "  match: {kinds: [Service]}\n  rules:"), "spec.match.kinds: unknown kind(s) Service"),
        (
            (
                "  rules:",
                "  match: {namespaceSelector: {matchExpressions: [{key: a, operator: In}]}}\n  rules:",
            ),
            "spec.match.namespaceSelector.matchExpressions[0]: operator In needs a non-empty `values` list",
        ),
        (
            ("  rules:", "  exemptions: {serviceAccounts: [default]}\n  rules:"),
            "spec.exemptions.serviceAccounts: service account 'default' must be written \"namespace:name\"",
        ),
        (("{name: no-root}", "{name: No_Root}"), "metadata.name: 'No_Root' is not a valid name"),
        (("  remediation: Set runAsNonRoot to true.\n", ""), "spec.remediation: required field is missing"),
        (
            ("kind: Policy", "kind: Polcy"),
            "p.yaml: document 0: expected apiVersion podgate.io/v1alpha1, kind Policy",
        ),
    ],
)
def test_each_problem_names_file_document_and_field(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    problems = problems_of(GOOD.replace(old, new))
    assert any(expected in p for p in problems), problems


def test_every_problem_in_every_document_is_reported_together() -> None:
    text = (
        GOOD.replace("rules: [{check: no-root}]", "rules: [{check: nope}]")
        + "---\n"
        + GOOD.replace("  rules:", "  extra: 1\n  rules:")
    )
    problems = problems_of(text)
    assert any("document 0: spec.rules[0].check" in p for p in problems)
    assert any("document 1: spec.extra: unknown field" in p for p in problems)


def test_duplicate_names_across_files_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(PolicyLoadError) as info:
        load_policies(tmp_path)
    assert "b.yaml: document 0: metadata.name: policy name 'no-root' is already used by" in str(info.value)


def test_duplicate_yaml_keys_and_bad_yaml_are_errors() -> None:
    assert "duplicate key 'rules'" in problems_of(GOOD + "  rules: []\n")[0]
    assert "invalid YAML at line" in problems_of("a: [1\n")[0]


def test_directories_skip_tests_folders_and_hidden_entries(tmp_path: Path) -> None:
    (tmp_path / "no-root.yaml").write_text(GOOD)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "pod.yaml").write_text("kind: Pod\n")
    (tmp_path / "..2026_11_22").mkdir()  # what a mounted ConfigMap looks like
    (tmp_path / "..2026_11_22" / "x.yaml").write_text("kind: Pod\n")
    assert load_policies(tmp_path).names == ("no-root",)


def test_missing_paths_and_empty_directories_are_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="no such file or directory"):
        load_policies(tmp_path / "missing")
    with pytest.raises(PolicyLoadError, match="no policy files found"):
        load_policies(tmp_path)


def test_snake_case_spellings_of_fields_are_unknown_fields() -> None:
    # The file format is camelCase like every Kubernetes object; `failure_policy` is a typo, not an alias.
    (problem,) = problems_of(GOOD + "  failure_policy: Ignore\n")
    assert "spec.failure_policy" in problem


def test_the_shipped_policy_library_loads() -> None:
    from tests.conftest import POLICIES

    assert "no-root" in load_policies(POLICIES).names


def test_one_invalid_field_does_not_hide_the_problems_of_the_rules() -> None:
    text = GOOD.replace(
        "rules: [{check: no-root}]",
        "actions: [Deny, Warn]\n  rules:\n    - check: no-such-check\n    - check: no-root\n      params: {bogus: 1}\n  mutations: [{mutator: no-such-mutator}]",
    )
    problems = problems_of(text)
    assert any("spec.actions" in p and "Deny and Warn" in p for p in problems), problems
    assert any("spec.rules[0].check" in p and "unknown check 'no-such-check'" in p for p in problems), (
        problems
    )
    assert any("spec.rules[1].params.bogus" in p for p in problems), problems
    assert any("spec.mutations[0].mutator" in p for p in problems), problems
    assert len(problems) == 4, problems
