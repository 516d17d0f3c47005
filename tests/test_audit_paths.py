"""`audit_paths`: files and stdin audited with workers give the serial result, the serial rerun when a
cut piece of a YAML List does not parse alone included, for every front-end (not only the CLI)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import audit_helpers
import pytest
from audit_helpers import bad_pod, generated_dump
from conftest import POLICIES
from test_audit_parallel import snapshot
from test_audit_split import dump

from webhook.audit import run
from webhook.audit.run import audit_paths
from webhook.audit.stream import SourceDigest
from webhook.inputs import InputError
from webhook.policy import load_policies

_workers_allowed, _small_batches = audit_helpers.workers_allowed, audit_helpers.small_batches

# An item whose quoted scalar runs over a line that looks like the start of the next item: the cut
# makes two pieces of it, which do not parse alone; read whole, it is one valid Pod.
MISREAD = (
    "- kind: Pod\n  metadata:\n    name: 'a\n- b'\n    namespace: shop\n"
    "  spec:\n    containers: [{name: c, image: nginx}]\n"  # runs as root: reported
)


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each reading of the sources was split (so a test cannot pass without the rerun)."""
    splits: list[bool] = []
    real = run.read_sources

    def spy(paths: Any, **kwargs: Any) -> Any:
        splits.append(kwargs.get("split", False))
        return real(paths, **kwargs)

    monkeypatch.setattr(run, "read_sources", spy)
    return splits


def list_with(tmp_path: Path, inserted: str) -> Path:
    """A kubectl-style YAML List of generated objects with `inserted` (item text) in its middle."""
    head, items = dump(generated_dump(15)).split("items:\n", 1)
    at = items.index("\n- ", len(items) // 2) + 1
    path = tmp_path / "list.yaml"
    path.write_text(head + "items:\n" + items[:at] + inserted + items[at:])
    return path


def audited(paths: list[str], jobs: int, stdin: bytes | None = None) -> tuple[Any, list[Any]]:
    digests: list[SourceDigest] = []
    result = audit_paths(
        paths,
        load_policies(POLICIES),
        jobs=jobs,
        digests=digests,
        stdin=None if stdin is None else io.BytesIO(stdin),
    )
    return snapshot(result), [(d.source, d.sha256, d.bytes) for d in digests]


def test_a_piece_that_does_not_parse_alone_is_read_again_serially(
    tmp_path: Path, small_batches: None, readings: list[bool]
) -> None:
    path = list_with(tmp_path, MISREAD)
    serially = audited([str(path)], jobs=1)
    assert readings == [False]
    assert audited([str(path)], jobs=2) == serially  # one digest per source: the given-up one dropped
    assert readings == [False, True, False]
    refs = [r["ref"] for r in serially[0]["results"]]
    assert "Pod/shop/a - b" in refs


def test_a_list_that_cuts_soundly_is_read_once(
    tmp_path: Path, small_batches: None, readings: list[bool]
) -> None:
    path = list_with(tmp_path, "")
    assert audited([str(path)], jobs=2) == audited([str(path)], jobs=1)
    assert readings == [True, False]


def test_stdin_is_read_once_even_when_a_file_would_need_a_rerun(
    tmp_path: Path, small_batches: None, readings: list[bool]
) -> None:
    """Stdin cannot be read twice: with "-" among the paths nothing is cut, and nothing is lost."""
    path = list_with(tmp_path, MISREAD)
    piped = json.dumps(bad_pod("piped", "stdin-ns")).encode()
    serially = audited(["-", str(path)], jobs=1, stdin=piped)
    assert audited(["-", str(path)], jobs=2, stdin=piped) == serially
    assert readings == [False, False]
    assert "Pod/stdin-ns/piped" in [r["ref"] for r in serially[0]["results"]]


def test_an_error_in_a_cut_piece_is_the_serial_error(tmp_path: Path, small_batches: None) -> None:
    path = list_with(tmp_path, "- kind: Pod\n  metadata: {name: x, name: y}\n")
    errors = []
    for jobs in (1, 2):
        with pytest.raises(InputError) as caught:
            audited([str(path)], jobs=jobs)
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and ": document 0: items[" in errors[0]
