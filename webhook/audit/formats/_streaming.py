"""Writing a large JSON list one item at a time, inside a document encoded around it.

The document is encoded with a placeholder string where the list goes; the bytes before and after it
are written around the items, each encoded on its own and shifted to the list's depth. The result is
byte for byte what encoding the whole document at once gives (for an encoder that indents every
nesting level by two spaces, as orjson's OPT_INDENT_2 and json.dumps(indent=2) do), without holding
every item at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

# Stands for the list while the rest of the document is encoded: a NUL never occurs in real content.
PLACEHOLDER = "\x00podgate:list\x00"
MARKER = b'"\\u0000podgate:list\\u0000"'  # how both encoders write PLACEHOLDER


def around(encoded: bytes) -> tuple[bytes, bytes]:
    """The encoded document before and after the placeholder."""
    if encoded.count(MARKER) != 1:
        raise AssertionError("the list placeholder is not unique in the document")
    before, _, after = encoded.partition(MARKER)
    return before, after


def write_indented_list(out: IO[bytes], encoded: bytes, items: Iterable[bytes]) -> None:
    """Write `encoded` with its placeholder replaced by the list of `items` (each encoded at depth 0)."""
    before, after = around(encoded)
    listing = IndentedList(out, before)
    for item in items:
        listing.add(item)
    listing.close(after)


class IndentedList:
    """`write_indented_list` a step at a time, for a document whose bytes after the list are known only
    once every item is written (the JSON report's digest of its items)."""

    def __init__(self, out: IO[bytes], before: bytes) -> None:
        line = before[before.rfind(b"\n") + 1 :]
        self._out = out
        self._depth = len(line) - len(line.lstrip(b" "))
        self._inner = b"\n" + b" " * (self._depth + 2)
        self._first = True
        out.write(before)

    def add(self, item: bytes) -> None:
        """One item, encoded at depth 0."""
        self._out.write(b"[" + self._inner if self._first else b"," + self._inner)
        # JSON strings never hold a raw newline: every newline is indentation, shifted to the list's depth.
        self._out.write(item.replace(b"\n", self._inner))
        self._first = False

    def close(self, after: bytes) -> None:
        self._out.write(b"[]" if self._first else b"\n" + b" " * self._depth + b"]")
        self._out.write(after)
