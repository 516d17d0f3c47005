"""The hash-chained decision log: appends, rotation, tamper detection, several writers, `podgate log verify`."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import orjson
import pytest

from webhook.cli import main
from webhook.decisionlog import DecisionLog, chain_files, verify


def write(log: DecisionLog, count: int, prefix: str = "uid") -> None:
    for i in range(count):
        log.append({"uid": f"{prefix}-{i}", "allowed": i % 2 == 0, "user": "alice"})


def test_an_untouched_log_verifies(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    write(log, 10)
    result = verify(chain_files(log.path))
    assert result.ok and result.entries == 10
    assert result.last_hash == orjson.loads(log.path.read_text().splitlines()[-1])["hash"]


@pytest.mark.parametrize(
    "tamper",
    ["edit a field", "delete a line", "swap two lines", "insert a forged line", "recompute an edited hash"],
)
def test_tampering_is_detected_at_the_line(tmp_path: Path, tamper: str) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    write(log, 6)
    lines = log.path.read_bytes().splitlines()
    entries = [orjson.loads(line) for line in lines]
    if tamper == "edit a field":
        entries[2]["allowed"] = not entries[2]["allowed"]
    elif tamper == "delete a line":
        del entries[2]
    elif tamper == "swap two lines":
        entries[2], entries[3] = entries[3], entries[2]
    elif tamper == "insert a forged line":
        entries.insert(3, {**entries[2], "uid": "forged"})
    else:  # recomputing the hash of an edited entry still breaks the link to the next one
        from webhook.decisionlog import entry_hash

        entries[2]["allowed"] = not entries[2]["allowed"]
        entries[2]["hash"] = entry_hash(entries[2])
    log.path.write_bytes(b"\n".join(orjson.dumps(e) for e in entries) + b"\n")
    result = verify([log.path])
    assert not result.ok
    assert any(f"{log.path}:" in p for p in result.problems)


def test_rotation_keeps_one_chain_across_files(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl", max_bytes=600, backups=50)
    write(log, 40)
    files = chain_files(log.path)
    assert len(files) > 3
    result = verify(files)
    assert result.ok and result.entries == 40
    # Removing a whole middle file is a broken chain.
    files[1].unlink()
    assert not verify(chain_files(log.path)).ok


def test_a_keyed_log_cannot_be_recomputed_without_the_key(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl", key="s3cret")
    write(log, 3)
    assert verify([log.path], key="s3cret").ok
    assert not verify([log.path]).ok  # an unkeyed SHA-256 chain does not match


def _writer(path: str, prefix: str) -> None:
    write(DecisionLog(Path(path), max_bytes=4000, backups=100), 50, prefix)


def test_several_processes_append_to_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(path), f"w{n}")) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    result = verify(chain_files(path))
    assert result.ok, result.problems
    assert result.entries == 200


def test_log_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    write(log, 3)
    assert main(["log", "verify", str(log.path)]) == 0
    assert "ok: 3 entries" in capsys.readouterr().out
    log.path.write_text(log.path.read_text().replace('"alice"', '"mallory"', 1))
    assert main(["log", "verify", str(log.path)]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and f"{log.path}:1: the entry was changed" in out
    assert main(["log", "verify", str(tmp_path / "absent.jsonl")]) == 2
