"""`podgate webhook-config` reads each policy file once: the set is loaded from the same texts that the
normal and the dry-run policy ConfigMaps are built from (`load_policy_dir`)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from webhook.cli import main
from webhook.deploy.webhook_config import GenerationError, dry_run_text, generated_files, load_policy_dir
from webhook.policy import PolicyLoadError, load_policies


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[Path]:
    """How many times each file was read as text."""
    counts: Counter[Path] = Counter()
    read_text = Path.read_text

    def counting_read_text(path: Path, *args: Any, **kwargs: Any) -> str:
        counts[path] += 1
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    return counts


def shipped_copy(tmp_path: Path) -> Path:
    policy_dir = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policy_dir)
    return policy_dir


def test_each_policy_file_is_read_once_for_the_set_and_both_configmaps(
    tmp_path: Path, reads: Counter[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = shipped_copy(tmp_path)
    policies, texts = load_policy_dir(policy_dir)
    files = {str(f.path): f.text for f in generated_files(policies, texts)}
    monkeypatch.undo()

    policy_reads = {path: n for path, n in reads.items() if path.is_relative_to(policy_dir)}
    assert policy_reads and set(policy_reads.values()) == {1}
    normal = yaml.safe_load(files["base/policies.yaml"])["data"]
    dry_run = yaml.safe_load(files["overlays/dry-run/policies.yaml"])["data"]
    assert len(normal) == len(policy_reads) and normal.keys() == dry_run.keys()
    for key, text in normal.items():
        file = policy_dir / key.replace("__", "/")
        assert text == file.read_text(encoding="utf-8")
        assert dry_run[key] == dry_run_text(text, str(file))


def test_the_set_is_the_one_load_policies_gives(tmp_path: Path) -> None:
    policy_dir = shipped_copy(tmp_path)
    policies, texts = load_policy_dir(policy_dir)
    loaded = load_policies(policy_dir)
    assert policies.sources == loaded.sources
    assert [(p.name, p.source, p.match) for p in policies] == [(p.name, p.source, p.match) for p in loaded]
    assert generated_files(policies, texts) == generated_files(loaded, texts)


def test_the_command_reads_each_policy_file_once(
    tmp_path: Path, reads: Counter[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    policy_dir = shipped_copy(tmp_path)
    args = ["webhook-config", "--policies", str(policy_dir), "--manifests", str(ROOT / "manifests")]
    assert main([*args, "--check"]) == 0
    assert "ok: 3 generated files match" in capsys.readouterr().out
    policy_reads = {path: n for path, n in reads.items() if path.is_relative_to(policy_dir)}
    assert policy_reads and set(policy_reads.values()) == {1}
    assert len(policy_reads) == len(load_policy_dir(policy_dir)[1])


def test_unreadable_or_missing_policy_files_are_load_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    with pytest.raises(PolicyLoadError) as empty:
        load_policy_dir(policy_dir)
    with pytest.raises(PolicyLoadError) as loaded_empty:
        load_policies(policy_dir)
    assert [str(p) for p in empty.value.problems] == [str(p) for p in loaded_empty.value.problems]
    assert [str(p) for p in empty.value.problems] == [f"{policy_dir}: no policy files found"]

    (policy_dir / "latin1.yaml").write_bytes(b"metadata: {name: caf\xe9}\n")
    (tmp_path / "manifests" / "base").mkdir(parents=True)
    code = main(["webhook-config", "--policies", str(policy_dir), "--manifests", str(tmp_path / "manifests")])
    assert code == 2
    with pytest.raises(PolicyLoadError) as loaded:
        load_policies(policy_dir)
    (problem,) = loaded.value.problems  # as the loader says it
    assert str(problem) == f"{policy_dir / 'latin1.yaml'}: document 0: not UTF-8 text (byte 20)"
    assert capsys.readouterr().err == (
        f"podgate webhook-config: the policy set does not load, nothing generated:\n  {problem}\n"
    )
    assert list((tmp_path / "manifests" / "base").iterdir()) == []


def test_every_problem_is_reported_as_load_policies_reports_it(tmp_path: Path) -> None:
    """An unreadable file does not hide the problems of the others: the loader reads the files."""
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "a-latin1.yaml").write_bytes(b"metadata: {name: caf\xe9}\n")
    (policy_dir / "b-broken.yaml").write_text("apiVersion: podgate.io/v1alpha1\nkind: Policy\nspec: 1\n")
    with pytest.raises(PolicyLoadError) as loaded:
        load_policies(policy_dir)
    with pytest.raises(PolicyLoadError) as generated:
        load_policy_dir(policy_dir)
    assert len(loaded.value.problems) > 1
    assert [str(p) for p in generated.value.problems] == [str(p) for p in loaded.value.problems]


def test_a_configmap_key_clash_is_found_before_any_file_is_read(tmp_path: Path, reads: Counter[Path]) -> None:
    policy_dir = shipped_copy(tmp_path)
    (policy_dir / "a").mkdir()
    (policy_dir / "a" / "b.yaml").write_text("")
    (policy_dir / "a__b.yaml").write_text("")
    with pytest.raises(GenerationError, match=r"two policy files map to the ConfigMap key 'a__b\.yaml'"):
        load_policy_dir(policy_dir)
    assert not [path for path in reads if path.is_relative_to(policy_dir)]
