"""The decision log remembers its last hash between appends: never when someone else wrote in between."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from webhook.decisionlog import DecisionLog, chain_files, verify


def entry(i: int) -> dict[str, object]:
    return {"uid": f"uid-{i}", "allowed": True, "user": "alice"}


def test_writers_taking_turns_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    # Two workers' logs in one process: each one's remembered hash goes stale when the other appends.
    first, second = DecisionLog(tmp_path / "d.jsonl"), DecisionLog(tmp_path / "d.jsonl")
    for i in range(20):
        (first if i % 3 else second).append(entry(i))
    result = verify(chain_files(first.path))
    assert result.ok, result.problems
    assert result.entries == 20


def test_turns_across_rotation_keep_one_chain(tmp_path: Path) -> None:
    first = DecisionLog(tmp_path / "d.jsonl", max_bytes=700, backups=50)
    second = DecisionLog(tmp_path / "d.jsonl", max_bytes=700, backups=50)
    for i in range(40):
        (first if i % 2 else second).append(entry(i))
    files = chain_files(first.path)
    assert len(files) > 3
    result = verify(files)
    assert result.ok, result.problems
    assert result.entries == 40


def test_a_line_added_by_hand_is_chained_after(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    log.append(entry(0))
    forged = {"uid": "by-hand", "prev": "x", "hash": "f" * 64}
    with open(log.path, "ab") as out:
        out.write(orjson.dumps(forged) + b"\n")
    chained = log.append(entry(1))
    assert chained["prev"] == "f" * 64  # read back from the file, not the remembered hash


def test_a_child_process_reads_the_tail_again(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    log.append(entry(0))
    pid = os.fork()
    if pid == 0:  # the child appends with its own lock, then the parent continues the chain
        try:
            log.append(entry(1))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    log.append(entry(2))
    result = verify(chain_files(log.path))
    assert result.ok, result.problems
    assert result.entries == 3


def test_a_removed_lock_file_is_opened_again(tmp_path: Path) -> None:
    # A writer holding the removed lock file would not exclude one that created the new file.
    log = DecisionLog(tmp_path / "d.jsonl")
    log.append(entry(0))
    log.lock_path.unlink()
    log.append(entry(1))
    assert log.lock_path.exists()
    assert os.fstat(log._lock_fd).st_ino == os.stat(log.lock_path).st_ino
    result = verify(chain_files(log.path))
    assert result.ok and result.entries == 2
