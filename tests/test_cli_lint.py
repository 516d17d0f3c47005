"""`podgate lint`: the shipped library is valid; every problem of a broken set is listed, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POLICIES

from webhook.cli import build_parser, main


def test_the_shipped_library_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(POLICIES)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_every_problem_is_listed_with_file_document_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (POLICIES / "no-root.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good.replace("check: no-root", "check: no-rot"))
    (tmp_path / "b.yaml").write_text(good + "---\n" + good.replace("actions: [Deny]", "actions: [Block]"))
    assert main(["lint", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert f"{tmp_path / 'a.yaml'}: document 0: spec.rules[0].check: unknown check 'no-rot'" in out
    assert f"{tmp_path / 'b.yaml'}: document 1: spec.actions[0]" in out
    assert out.rstrip().endswith("problems found")


def test_commands_are_discovered() -> None:
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"evaluate", "lint", "test"} <= set(choices)
