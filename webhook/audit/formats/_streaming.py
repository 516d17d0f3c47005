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
    line = before[before.rfind(b"\n") + 1 :]
    depth = len(line) - len(line.lstrip(b" "))
    inner = b"\n" + b" " * (depth + 2)
    out.write(before)
    first = True
    for item in items:
        out.write(b"[" + inner if first else b"," + inner)
        # JSON strings never hold a raw newline: every newline is indentation, shifted to the list's depth.
        out.write(item.replace(b"\n", inner))
        first = False
    out.write(b"[]" if first else b"\n" + b" " * depth + b"]")
    out.write(after)
