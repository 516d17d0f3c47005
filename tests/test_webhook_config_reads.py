"""`generated_files` builds the normal and the dry-run policy ConfigMaps from one reading of each file."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from webhook.deploy.webhook_config import dry_run_text, generated_files
from webhook.policy import load_policies


def test_each_policy_file_is_read_once_for_both_configmaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policy_dir)
    policies = load_policies(policy_dir)
    reads: Counter[Path] = Counter()
    read_text = Path.read_text

    def counting_read_text(path: Path, *args: Any, **kwargs: Any) -> str:
        reads[path] += 1
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    files = {str(f.path): f.text for f in generated_files(policies, policy_dir)}
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
