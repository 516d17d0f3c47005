"""Objects from manifests and dumps, one at a time, without holding a whole dump in memory.

`kubectl get pods -A -o json` prints one document, a List whose `items` hold every object: read with
`yaml.load` or `json.load`, a 10,000-pod dump is built whole before the first pod is judged. Here the
top-level mapping is walked key by key and each element of `items` is built, yielded and dropped in
turn; every other top-level key is small and built whole. JSON: the top level is walked by hand over a
growing text window and every value is decoded whole by the stdlib's C scanner (duplicate keys refused
in its object hook). YAML: PyYAML's C parser emits events, and `_yaml_build` builds values from them.
A top-level mapping with an `items` list is treated as a List (no pod-bearing kind has such a field).

Errors name the source, the document (and the item) and what is wrong; they never leak a traceback.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import yaml

from ..inputs import InputError, manifest_files
from ..policy.yamlio import StrictLoader, describe_yaml_error
from ._yaml_build import EventBuilder
from .split import DeferredItem, parse_item, pieces, rest_of_list, split_list

SPLIT_MAX_BYTES = 64 * 1024 * 1024  # ~27,000 pods of `kubectl get -o yaml`
CHUNK = 64 * 1024
JSON_CHUNK = 1024 * 1024  # text decoded per read: large, so few values straddle a read and are decoded twice
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Located:
    """One object read from a source, with where it was found."""

    source: str  # file path, "-" for stdin, or "cluster" for a live listing
    document: int
    item: int | None  # index inside `items` when the document is a List
    line: int | None  # 1-based line where the object starts (YAML only)
    object: Any

    @property
    def where(self) -> str:
        text = f"{self.source}: document {self.document}"
        return text if self.item is None else f"{text}: items[{self.item}]"


@dataclass(slots=True)
class SourceDigest:
    """What was read from one source: for the evidence block of a report."""

    source: str
    sha256: str
    bytes: int


class HashingReader(io.RawIOBase):
    """Reads through a binary stream, hashing every byte, so the report can name exactly what it judged."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.count += n
        return n

    def read_rest(self) -> None:
        """Hash whatever the parser did not read (trailing bytes), so the digest covers the whole source."""
        while True:
            data = self._raw.read(CHUNK)
            if not data:
                return
            self.digest.update(data)
            self.count += len(data)


def read_sources(
    paths: Iterable[str],
    *,
    stdin: BinaryIO | None = None,
    digests: list[SourceDigest] | None = None,
    split: bool = False,
) -> Iterator[Located]:
    """Every object in `paths` ("-" is stdin; directories are walked), in order, streamed.

    When `digests` is given, one SourceDigest per source is appended once that source is fully read.
    With `split`, a file holding a kubectl-shaped YAML List is read whole and its items are yielded as
    text (`DeferredItem`), to be parsed where they are judged (see split.py); a caller that gets
    `SplitUnsound` must read the sources again without `split`.
    """
    for source in manifest_files(paths):
        if source == "-":
            raw: BinaryIO = stdin if stdin is not None else _stdin_bytes()
            yield from _read_one(source, raw, digests)
            continue
        try:
            handle = open(source, "rb")  # noqa: SIM115 (closed below, after the generator is drained)
        except OSError as exc:
            raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from None
        with handle:
            # A split file is held whole as text; past SPLIT_MAX_BYTES it streams instead, so memory
            # stays bounded whatever the size of the dump.
            small = split and os.fstat(handle.fileno()).st_size <= SPLIT_MAX_BYTES
            yield from _read_one(source, handle, digests, small)


def _stdin_bytes() -> BinaryIO:
    import sys

    return sys.stdin.buffer


def _read_one(
    source: str, raw: BinaryIO, digests: list[SourceDigest] | None, split: bool = False
) -> Iterator[Located]:
    reader = HashingReader(raw)
    buffered = io.BufferedReader(reader, CHUNK)
    if _looks_like_json(buffered):
        yield from json_objects(buffered, source)
    elif split:
        data = buffered.read()  # every byte, hashed: the items are cut from the whole text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        boundaries = _split_yaml_list(source, text)
        if boundaries is None:
            yield from yaml_objects(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"), source)
        else:
            del data
            yield from _deferred_items(source, text, boundaries)
    else:
        yield from yaml_objects(io.TextIOWrapper(buffered, encoding="utf-8"), source)
    reader.read_rest()
    if digests is not None:
        digests.append(SourceDigest(source, reader.digest.hexdigest(), reader.count))


def _split_yaml_list(source: str, text: str) -> list[int] | None:
    """Where the items of a kubectl-shaped YAML List start (see split.py); None to read it serially."""
    cut = split_list(text)
    rest = None if cut is None else rest_of_list(cut[1])
    if cut is None or rest is None:
        return None
    try:
        check_list_document(rest, source, 0)
    except InputError:
        return None  # the serial reader says so, after the items
    return cut[0]


def _deferred_items(source: str, text: str, boundaries: list[int]) -> Iterator[Located]:
    for index, (line, piece) in enumerate(pieces(text, boundaries)):
        if "Namespace" in piece or "\\" in piece:
            # Maybe a Namespace (a kind may be escaped in a quoted scalar): its labels must be known
            # here, before the items that follow it are sent out, so it is parsed here.
            obj, at = parse_item(piece, line)
            yield Located(source, 0, index, at, obj)
        else:
            yield Located(source, 0, index, None, DeferredItem(piece, line))


def _looks_like_json(stream: Any) -> bool:
    """JSON or YAML? YAML flow style also starts with `{`, but its keys need no quotes."""
    head = stream.peek(CHUNK)[:CHUNK].lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head[:1] not in (b"{", b"["):
        return False
    rest = head.lstrip(b"[ \t\r\n")
    if rest[:1] == b"{":
        rest = rest[1:].lstrip()
        return rest[:1] in (b'"', b"}")
    return rest[:1] in (b'"', b"]", b"-", b"t", b"f", b"n") or rest[:1].isdigit()


# --- JSON (the stdlib's C scanner over a growing text window) -------------------------------------------


class _Refused(ValueError):
    """A value the JSON grammar allows and Kubernetes does not; raised from the C scanner's hooks."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key!r}")
            seen.add(key)
    return mapping


def _integer(text: str) -> int:
    value = int(text)
    if len(text) > 18 and not -(2**63) <= value < 2**63:  # Kubernetes' decoder refuses these too
        raise _Refused(f"parse error: integer overflow ({text} does not fit in 64 bits)")
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # 1e400: Kubernetes' decoder refuses it, Python makes it infinite
        raise _Refused(f"number out of range ({text})")
    return value


def _lone_surrogates(value: Any) -> Any:
    """`value` with every unpaired UTF-16 surrogate (an escape like \\ud800) made U+FFFD, as Go decodes it.

    Python's decoder keeps them, and a string holding one cannot be written out as UTF-8.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_lone_surrogates(k): _lone_surrogates(v) for k, v in value.items()}
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")  # NaN, Infinity, -Infinity: an extension of Python's decoder


# The C scanner of `json` (what json.loads runs), called on one value at a time: it builds the value in C
# and calls `_pairs` per object to refuse duplicate keys, which the stdlib and orjson silently drop.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_int=_integer, parse_float=_float, parse_constant=_constant
)
_SCAN: Any = _DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in the text: a value may hold a lone surrogate
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded string: pairs are already combined
_NEAR_END = 32  # a value cut by the end of the window fails within this many characters of it


class _JsonError(Exception):
    """A JSON syntax error at a line and column; `json_objects` adds the source, document and item."""


class _NotText(Exception):
    """Bytes that are not UTF-8; args[0] is the offset of the first bad byte."""


class _Window:
    """Decoded text over a binary stream, read in chunks: `text[pos:]` is what is not consumed yet.

    Values are decoded from `text` at `pos`; when one runs past the end, more is read (at least as much
    again as is held, so a value larger than a chunk costs linear time) and the value is decoded again.
    What lies before `pos` is dropped at each read; `line`/`column` of an error count it in.
    """

    def __init__(self, stream: IO[bytes], chunk: int) -> None:
        self.stream = stream
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0
        self.dropped_lines = 0  # newlines in the text dropped so far
        self.dropped_column = 0  # characters dropped after the last dropped newline
        self.started = False
        self.escapes = False  # the window holds an escaped UTF-16 surrogate (see `_lone_surrogates`)

    def more(self) -> bool:
        """Read another chunk (or more, to double the pending text); False at the end of the stream.

        True moves the text (what lies before `pos` is dropped): the caller must take its positions anew.
        """
        if self.eof:
            return False
        want = max(self.chunk, 2 * (len(self.text) - self.pos))
        data = self.stream.read(want)
        pending = len(self.decoder.getstate()[0])
        try:
            decoded = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise _NotText(self.bytes_read - pending + exc.start) from None
        self.bytes_read += len(data)
        if not data:
            self.eof = True
            return False  # the text is left as it is: callers still hold positions in it
        if not self.started and decoded:
            self.started = True
            if decoded[0] == "\ufeff":
                decoded = decoded[1:]  # a byte-order mark
        self._drop()
        self.text += decoded
        # Any `\ud800`-like escape in the window? Looked for once per read (memchr first), not per value.
        self.escapes = "\\" in self.text and _SURROGATE_ESCAPE.search(self.text) is not None
        return True

    def _drop(self) -> None:
        pos, text = self.pos, self.text
        if pos == 0:
            return
        newlines = text.count("\n", 0, pos)
        if newlines:
            self.dropped_lines += newlines
            self.dropped_column = pos - text.rfind("\n", 0, pos) - 1
        else:
            self.dropped_column += pos
        self.text = text[pos:]
        self.pos = 0

    def skip(self) -> str:
        """Skip whitespace; the next character ("" at the end of the input)."""
        while True:
            pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if pos < len(self.text):
                self.pos = pos
                return self.text[pos]
            self.pos = pos
            if not self.more():
                return ""

    def value(self) -> Any:
        """The JSON value at `pos` (after `skip`), decoded whole; `pos` moves past it."""
        while True:
            text, pos = self.text, self.pos
            try:
                value, end = _SCAN(text, pos)
            except StopIteration as exc:  # no value where one must start (exc.value), maybe nested
                if len(text) - exc.value < _NEAR_END and self.more():
                    continue
                raise self.error("Expecting value", exc.value) from None
            except json.JSONDecodeError as exc:
                if self._cut(exc) and self.more():
                    continue
                raise self.error(exc.msg.removesuffix(" at"), exc.pos) from None
            except _Refused as exc:
                raise self.error(str(exc), pos, inside=True) from None
            if len(text) - end < _NEAR_END and not self.eof and self.more():
                continue  # a number cut by the end ("1.5e" of "1.5e+46") may go on in the next chunk
            self.pos = end
            if self.escapes and _SURROGATE_ESCAPE.search(text, pos, end):
                return _lone_surrogates(value)
            return value

    def _cut(self, exc: json.JSONDecodeError) -> bool:
        """Could the error be the end of the window rather than of the value? (Then read more and retry.)"""
        return len(self.text) - exc.pos < _NEAR_END or exc.msg.startswith("Unterminated string")

    def key(self) -> str:
        """The string at `pos` (a mapping key, after `skip` found '"')."""
        while True:
            try:
                key, end = _scanstring(self.text, self.pos + 1, True)
            except json.JSONDecodeError as exc:
                if self._cut(exc) and self.more():
                    continue
                raise self.error(exc.msg.removesuffix(" at"), exc.pos) from None
            self.pos = end
            return _lone_surrogates(key)  # type: ignore[no-any-return]

    def expect(self, allowed: str, what: str) -> str:
        found = self.skip()
        if not found or found not in allowed:
            raise self.error(f"Expecting {what}", self.pos)
        self.pos += 1
        return found

    def error(self, message: str, pos: int, *, inside: bool = False) -> _JsonError:
        """`message` at `pos`, or (`inside`) somewhere in the value that starts at `pos`."""
        text = self.text
        newline = text.rfind("\n", 0, pos)
        line = self.dropped_lines + text.count("\n", 0, pos) + 1
        column = pos - newline if newline >= 0 else self.dropped_column + pos + 1
        where = f"line {line}, column {column}"
        return _JsonError(f"{message} (in the value at {where})" if inside else f"{message} at {where}")


def json_objects(
    stream: IO[bytes], source: str, *, lists: list[dict[str, Any]] | None = None, chunk: int = JSON_CHUNK
) -> Iterator[Located]:
    """Objects in a JSON stream: one or more concatenated documents; List items decoded one at a time.

    Only the top level of each document is walked here (its keys, and the elements of its `items`);
    every value is decoded whole by the C scanner. When `lists` is given, the other top-level keys of
    each List (its `metadata` with the `continue` token of a paged listing) are appended to it once the
    List has been read.
    """
    window = _Window(stream, chunk)
    document = 0
    item: int | None = None
    try:
        while first := window.skip():
            if first != "{":
                yield Located(source, document, None, None, window.value())
                document += 1
                continue
            window.pos += 1
            rest: dict[str, Any] = {}
            streamed = False
            if window.skip() == "}":
                window.pos += 1
            else:
                while True:
                    if window.skip() != '"':
                        raise window.error("Expecting property name enclosed in double quotes", window.pos)
                    key = window.key()
                    window.expect(":", "':' delimiter")
                    if window.skip() == "[" and key == "items" and not streamed:
                        streamed = True
                        window.pos += 1
                        item = 0
                        if window.skip() == "]":
                            window.pos += 1
                        else:
                            while True:
                                window.skip()
                                yield Located(source, document, item, None, window.value())
                                item += 1
                                if window.expect(",]", "',' delimiter") == "]":
                                    break
                        item = None
                    elif key in rest or (key == "items" and streamed):
                        raise InputError(f"{source}: document {document}: duplicate key {key!r}")
                    else:
                        rest[key] = window.value()
                    if window.expect(",}", "',' delimiter") == "}":
                        break
            if not streamed:
                yield Located(source, document, None, None, rest)
            else:
                check_list_document(rest, source, document)
                if lists is not None:
                    lists.append(rest)
            document += 1
    except _JsonError as exc:
        at = f"{source}: document {document}" + (f": items[{item}]" if item is not None else "")
        raise InputError(f"{at}: invalid JSON: {exc}") from None
    except _NotText as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.args[0]})") from None


def check_list_document(rest: dict[str, Any], source: str, document: int) -> None:
    """A document whose items were streamed must still look like a List (`kind: ...List`)."""
    kind = rest.get("kind")
    if kind is not None and not (isinstance(kind, str) and kind.endswith("List")):
        raise InputError(
            f"{source}: document {document}: has an `items` list but kind {kind!r} is not a List"
        )


# --- YAML (PyYAML's C parser, events) --------------------------------------------------------------------


def yaml_objects(stream: IO[str], source: str) -> Iterator[Located]:
    """Objects in a YAML stream: multi-document; List items built one at a time from parser events."""
    loader = StrictLoader(stream)
    document = 0
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(yaml.StreamEndEvent):
            start = loader.get_event()  # DocumentStart
            first = loader.peek_event()
            builder = EventBuilder(loader)
            if isinstance(first, yaml.ScalarEvent) and first.value == "" and first.implicit[0]:
                loader.get_event()  # an empty document (`---` followed by nothing)
            elif not isinstance(first, yaml.MappingStartEvent) or first.tag not in (None, "!"):
                yield Located(source, document, None, start.start_mark.line + 1, builder.build())
            else:
                yield from _yaml_mapping_document(builder, source, document)
            loader.get_event()  # DocumentEnd
            document += 1
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: document {document}: {describe_yaml_error(exc)}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    finally:
        loader.dispose()


def _yaml_mapping_document(builder: EventBuilder, source: str, document: int) -> Iterator[Located]:
    get = builder.loader.get_event
    start = get()  # MappingStart
    top = builder.mapping_frame(start)
    if start.anchor is not None:
        builder.anchors[start.anchor] = top.container
    streamed = False
    while type(event := get()) is not yaml.MappingEndEvent:
        key = builder.build(event)
        value = get()
        if (
            key == "items"
            and type(value) is yaml.SequenceStartEvent
            and value.anchor is None
            and value.tag in (None, "!")
        ):
            if streamed:
                raise InputError(f"{source}: document {document}: duplicate key 'items'")
            streamed = True
            yield from _yaml_items(builder, source, document)
            continue
        top.key, top.key_event = key, event
        builder.put(top, builder.build(value))
    rest = builder.finish(top)
    if streamed:
        if "items" in rest:
            raise InputError(f"{source}: document {document}: duplicate key 'items'")
        check_list_document(rest, source, document)
    else:
        yield Located(source, document, None, start.start_mark.line + 1, rest)


def _yaml_items(builder: EventBuilder, source: str, document: int) -> Iterator[Located]:
    """The elements of a List's `items`, each built, yielded and dropped in turn."""
    get = builder.loader.get_event
    index = 0
    while True:
        try:
            event = get()
            if type(event) is yaml.SequenceEndEvent:
                return
            obj = builder.build(event)
        except yaml.YAMLError as exc:
            raise InputError(
                f"{source}: document {document}: items[{index}]: {describe_yaml_error(exc)}"
            ) from None
        yield Located(source, document, index, event.start_mark.line + 1, obj)
        index += 1
