"""The folder that relative parameter paths resolve against is worked out once per policy file, not once
per rule or mutation, and every rule of every document in the file gets it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from webhook.policy import PolicyLoadError, load_policies, loader

DOCUMENT = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: {name}}}
spec:
  description: d
  remediation: r
  rules:
    - {{check: no-root}}
    - {{name: scans, check: scan-verdicts, params: {{reports: [reports-{name}]}}}}
  mutations:
    - {{mutator: default-labels, params: {{labels: {{team: web}}}}}}
"""


def test_each_policy_file_resolves_its_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "two.yaml").write_text(DOCUMENT.format(name="first") + "---\n" + DOCUMENT.format(name="second"))
    (tmp_path / "one.yaml").write_text(DOCUMENT.format(name="third"))
    calls: list[str] = []
    context_of = loader._params_context

    def counting(file: str) -> Any:
        calls.append(file)
        return context_of(file)

    monkeypatch.setattr(loader, "_params_context", counting)
    with pytest.raises(PolicyLoadError) as info:
        load_policies(tmp_path)
    assert sorted(calls) == [str(tmp_path / "one.yaml"), str(team / "two.yaml")]
    # ...and each rule resolved its relative report path against its own file's folder.
    text = str(info.value)
    for folder, name in ((team, "first"), (team, "second"), (tmp_path, "third")):
        assert str(folder.resolve() / f"reports-{name}") in text


def test_a_file_with_imported_policies_resolves_its_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its own policies and the ValidatingAdmissionPolicies imported from it share one resolution."""
    own = DOCUMENT.format(name="own").replace(
        "    - {name: scans, check: scan-verdicts, params: {reports: [reports-own]}}\n", ""
    )
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(own + "---\n" + (FIXTURES / "vap" / "replica-limit.yaml").read_text())
    calls: list[str] = []
    context_of = loader._params_context

    def counting(file: str) -> Any:
        calls.append(file)
        return context_of(file)

    monkeypatch.setattr(loader, "_params_context", counting)
    policies = load_policies(tmp_path)
    assert "own" in [p.name for p in policies] and len(policies.policies) > 1  # imported ones too
    assert calls == [str(mixed)]
