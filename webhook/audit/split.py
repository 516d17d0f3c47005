"""A YAML List split into the text of its items, so that worker processes parse them (`--jobs N`).

PyYAML's C parser costs ~0.4 ms per pod, about as much as judging it: with workers, the process that
reads would be the bottleneck. For a dump of the shape `kubectl get -o yaml` prints (a top-level block
mapping whose `items:` line is followed by a block sequence), this process only cuts the text of
`items` at the lines that start an element (the sequence's own indentation, then `- `: in block context
every other line of an element is indented deeper, or blank, or a comment), and a worker parses each
piece with the same reader (`parse_item`: the same events, builder and marks, lines shifted to the file's).

The cut is checked rather than trusted. Anything the splitter does not read the same way as the parser
makes it decline the whole source (it is then read as before): other line breaks than \\n, tabs in
indentation, directives, document markers, anchors, aliases, merge keys, a root that is not a block
mapping at column 0 or has a tag, a flow `items`, a first line of `items` that is not an element. What
remains is a line that starts an element but lies inside a multi-line quoted scalar or flow collection
(libyaml does not check the indentation of their continuation lines): the piece before it then ends
inside that scalar or collection and cannot parse. So any piece that does not parse to exactly one
element, or whose object is not a Kubernetes object, raises `SplitUnsound`, and the caller runs the
audit again with the sources read serially: the result, or the error message, is exactly the serial one.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..policy.yamlio import StrictLoader
from ._yaml_build import EventBuilder


class SplitUnsound(Exception):
    """A piece of a split List did not parse as one element: the audit must be run again, serially."""


@dataclass(slots=True)
class DeferredItem:
    """The text of one element of a List's `items`, parsed where it is judged."""

    text: str
    first_line: int  # 1-based line of the file where `text` starts
    labels: Mapping[str, Mapping[str, str]] | None = None  # namespace labels known when it was read

    def parse(self) -> tuple[Any, int]:
        """(the element, its 1-based line in the file), as `stream._yaml_items` builds them."""
        return parse_item(self.text, self.first_line)


_OTHER_BREAKS = "\r\x85\u2028\u2029\ufeff"  # YAML 1.1 line breaks besides \n; a byte-order mark
_MARKERS = ("\n---", "\n...", "\n%")  # document markers, directives (at the start of a line)
# What may come before an anchor or alias on its line (a node starts there); else `&`/`*` is text.
_NODE_START = re.compile(r"(?:[ ]*(?:-[ ]+)*|.*(?::[ ]+|\?[ ]+|[\[{,][ ]*|![^\s]*[ ]+))")


def _unsure(text: str) -> bool:
    """Anything the cut could misread? Plain substring searches first: they run at memory speed."""
    if any(c in text for c in _OTHER_BREAKS) or "<<" in text:  # other line breaks, merge keys
        return True
    if text.startswith(("---", "...", "%")) or any(m in text for m in _MARKERS):
        return True
    if "\t" in text and re.search(r"^ *\t", text, re.M):  # a tab in indentation
        return True
    for token in "&*":  # anchors, aliases (or text that looks like one)
        at = text.find(token)
        while at >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            if _NODE_START.fullmatch(text, line_start, at):
                return True
            at = text.find(token, at + 1)
    return False


_ITEMS = re.compile(r"^items:[ ]*\n", re.M)
_CONTENT = re.compile(r"^(?! *(?:#.*)?$)( *)(.?)", re.M)  # the first line that is not blank or a comment


def split_list(text: str) -> tuple[list[int], str] | None:
    """Where the items of a kubectl-shaped List start (offsets in `text`; the last is where `items`
    ends), and the text without them. None when the text is not of that shape or holds anything the cut
    could misread. The patterns start with a literal newline, which the regex engine scans for quickly.
    """
    if _unsure(text):
        return None
    if text.count("\nitems:") + text.startswith("items:") != 1:  # one line that starts with `items:`
        return None
    at = 0 if text.startswith("items:\n") else text.find("\nitems:\n") + 1
    if at == 0 and not text.startswith("items:\n"):  # ... and it is `items:` alone
        return None
    start = at + len("items:\n")
    if "!" in text[:start]:  # maybe a tag on the root mapping: the serial reader would not stream it
        return None
    root = _CONTENT.search(text)
    if root is None or root.group(1) or not root.group(2).isalpha():
        return None  # the root must be a block mapping at column 0 (in `{...}` block items are invalid)
    first = _CONTENT.search(text, start)
    if first is None or text[first.end(1) : first.end(1) + 2] not in ("- ", "-\n"):
        return None
    indent = first.group(1)
    # The end of `items`: the first line neither deeper, nor an element, nor blank, nor a comment.
    ended = re.compile(rf"\n(?!{indent} |{indent}-(?: |\n)| *(?:#[^\n]*)?(?:\n|$))").search(text, start - 1)
    end = len(text) if ended is None else ended.start() + 1
    if end < len(text) and text[end] == " ":  # the next top-level key must start a line
        return None
    element = re.compile(rf"\n{indent}-(?= |\n)")
    boundaries = [m.start() + 1 for m in element.finditer(text, start - 1, end)]
    if not boundaries or boundaries[0] != first.start():
        return None
    boundaries.append(end)
    return boundaries, text[: boundaries[0]] + text[end:]


def pieces(text: str, boundaries: list[int]) -> Iterator[tuple[int, str]]:
    """(first line, text) of each item, cut as they are needed."""
    line = text.count("\n", 0, boundaries[0]) + 1
    for a, b in itertools.pairwise(boundaries):
        piece = text[a:b]
        yield line, piece
        line += piece.count("\n")


def rest_of_list(without_items: str) -> dict[Any, Any] | None:
    """The List's other top-level keys (`items` dropped), or None if they do not read as one mapping."""
    try:
        documents = list(yaml.load_all(io.StringIO(without_items), Loader=StrictLoader))
    except (yaml.YAMLError, RecursionError):
        return None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return None
    rest = documents[0]
    if "items" not in rest or rest["items"] is not None:
        return None
    del rest["items"]
    return rest


_PLAIN: dict[str, Any] = {}  # resolved plain scalars, kept from item to item as the serial reader keeps them


def parse_item(text: str, first_line: int) -> tuple[Any, int]:
    """One piece of `split_list`: its single element and that element's line; SplitUnsound otherwise."""
    loader = StrictLoader(text)
    try:
        get = loader.get_event
        if type(get()) is not yaml.StreamStartEvent or type(get()) is not yaml.DocumentStartEvent:
            raise SplitUnsound("no document")
        start = get()
        if type(start) is not yaml.SequenceStartEvent or start.tag is not None or start.anchor is not None:
            raise SplitUnsound("not a sequence")
        event = get()
        obj = EventBuilder(loader, _PLAIN).build(event)
        if type(get()) is not yaml.SequenceEndEvent or type(get()) is not yaml.DocumentEndEvent:
            raise SplitUnsound("more than one element")
        if type(get()) is not yaml.StreamEndEvent:
            raise SplitUnsound("more than one document")
    except (yaml.YAMLError, RecursionError) as exc:
        raise SplitUnsound(str(exc)) from None
    finally:
        loader.dispose()
    return obj, event.start_mark.line + first_line
