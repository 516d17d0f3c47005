"""The decision log: one JSON line per judged request, hash-chained so that tampering shows.

Every entry carries `prev` (the hash of the entry before it, across rotated files) and `hash`
(SHA-256, or HMAC-SHA-256 when a key is set, of the entry's canonical JSON without `hash`). Editing,
inserting, deleting or reordering a line breaks the chain at that line; `podgate log verify` finds it.
Cutting lines off the end is only visible against a hash recorded elsewhere (the last hash is printed
by `verify`, and is in each worker's log); with a key, an attacker who can write the file still
cannot forge a chain.

Several gunicorn workers append to one file: an exclusive `flock` around "read the last hash, append,
maybe rotate" keeps one chain. Rotation renames `decisions.jsonl` to `.1`, `.1` to `.2`, ... and the
new file continues the chain from the last entry of the old one.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

GENESIS = "0" * 64


def entry_hash(entry: Mapping[str, Any], key: bytes = b"") -> str:
    body = orjson.dumps({k: v for k, v in entry.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)
    if key:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


class DecisionLog:
    """Appends chained entries to `path`, rotating at `max_bytes` and keeping `backups` old files."""

    def __init__(self, path: Path, *, max_bytes: int = 50 << 20, backups: int = 5, key: str = "") -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.key = key.encode()
        self.lock_path = path.with_name(f".{path.name}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Per request, the lock file stays open and the last hash is remembered with the file state it
        # was written in (device, inode, size, mtime): while the file is still in that state nobody else
        # appended or rotated, so the tail need not be read back. Any other state: read as before.
        self._lock_fd = -1
        self._lock_pid = 0  # an fd inherited over fork shares its flock: each process opens its own
        self._last: tuple[tuple[int, int, int, int], str] | None = None

    def append(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        lock = self._lock()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            prev = self._remembered_hash()
            if prev is None:
                prev = _last_hash(self.path)
            if prev is None:  # an empty or new file continues the chain of the file rotated before it
                prev = _last_hash(self._backup(1)) or GENESIS
            chained = dict(entry)
            chained["prev"] = prev
            chained["hash"] = entry_hash(chained, self.key)
            line = orjson.dumps(chained) + b"\n"
            out = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(out, view) :]
                state = os.fstat(out)
            finally:
                os.close(out)
            self._last = (_state(state), chained["hash"])
            if state.st_size >= self.max_bytes:
                self._last = None
                self._rotate()
            return chained
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _lock(self) -> int:
        """This process's open lock file; opened again when the file was removed or replaced, since
        writers that lock different files would not exclude each other."""
        if self._lock_pid == os.getpid():
            try:
                if _same_file(os.stat(self.lock_path), os.fstat(self._lock_fd)):
                    return self._lock_fd
            except FileNotFoundError:
                pass
            os.close(self._lock_fd)
        self._lock_fd = os.open(self.lock_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._lock_pid = os.getpid()
        self._last = None  # what a parent process remembered is not this process's to trust
        return self._lock_fd

    def _remembered_hash(self) -> str | None:
        if self._last is None:
            return None
        try:
            state = _state(os.stat(self.path))
        except FileNotFoundError:
            return None
        remembered_state, remembered_hash = self._last
        return remembered_hash if state == remembered_state else None

    def _backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _rotate(self) -> None:
        for n in range(self.backups, 0, -1):
            source = self.path if n == 1 else self._backup(n - 1)
            if source.exists():
                os.replace(source, self._backup(n))
        if self.backups == 0:
            self.path.unlink()


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _state(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _last_hash(path: Path) -> str | None:
    """The hash of the last line, reading only the file's tail."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size == 0:
                return None
            chunk = 4096
            while True:
                start = max(0, size - chunk)
                f.seek(start)
                tail = f.read(size - start)
                lines = tail.rstrip(b"\n").split(b"\n")
                if len(lines) > 1 or start == 0:
                    return str(orjson.loads(lines[-1])["hash"])
                chunk *= 4
    except FileNotFoundError:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "corrupt"  # the next entry records it; verify reports the broken line


@dataclass(frozen=True, slots=True)
class VerifyResult:
    entries: int
    last_hash: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def chain_files(path: Path) -> list[Path]:
    """The log and its rotated files, oldest first."""
    backups = sorted(
        (p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    return [*backups, *([path] if path.exists() else [])]


def verify(files: Sequence[Path], *, key: str = "") -> VerifyResult:
    """Check the chain through `files` in order; every problem names the file and line."""
    secret = key.encode()
    problems: list[str] = []
    prev: str | None = None  # the first entry may continue a chain whose start was rotated away
    count = 0
    for file, number, line in _lines(files):
        where = f"{file}:{number}"
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc})")
            prev = "unknown"
            continue
        if not isinstance(entry, dict) or "hash" not in entry or "prev" not in entry:
            problems.append(f"{where}: not a decision-log entry (no hash/prev)")
            prev = "unknown"
            continue
        count += 1
        if entry_hash(entry, secret) != entry["hash"]:
            problems.append(f"{where}: the entry was changed (its hash does not match its content)")
        if prev is not None and prev != "unknown" and entry["prev"] != prev:
            problems.append(
                f"{where}: the chain is broken (an entry before it was removed, added or changed)"
            )
        prev = str(entry["hash"])
    return VerifyResult(entries=count, last_hash=prev or GENESIS, problems=tuple(problems))


def _lines(files: Sequence[Path]) -> Iterator[tuple[Path, int, bytes]]:
    for file in files:
        with open(file, "rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield file, number, line
