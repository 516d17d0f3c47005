"""Objects from manifests and dumps, one at a time, without holding a whole dump in memory.

`kubectl get pods -A -o json` prints one document, a List whose `items` hold every object: read with
`yaml.load` or `json.load`, a 10,000-pod dump is built whole before the first pod is judged. Here the
top-level mapping is walked event by event (ijson for JSON, PyYAML's C parser for YAML) and each element
of `items` is built, yielded and dropped in turn; every other top-level key is small and built whole.
A top-level mapping with an `items` list is treated as a List (no pod-bearing kind has such a field).

Errors name the source, the document (and the item) and what is wrong; they never leak a traceback.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import ijson
import yaml

from ..inputs import InputError, manifest_files
from ..policy.yamlio import StrictLoader, describe_yaml_error
from ._yaml_build import EventBuilder

CHUNK = 64 * 1024


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
    paths: Iterable[str], *, stdin: BinaryIO | None = None, digests: list[SourceDigest] | None = None
) -> Iterator[Located]:
    """Every object in `paths` ("-" is stdin; directories are walked), in order, streamed.

    When `digests` is given, one SourceDigest per source is appended once that source is fully read.
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
            yield from _read_one(source, handle, digests)


def _stdin_bytes() -> BinaryIO:
    import sys

    return sys.stdin.buffer


def _read_one(source: str, raw: BinaryIO, digests: list[SourceDigest] | None) -> Iterator[Located]:
    reader = HashingReader(raw)
    buffered = io.BufferedReader(reader, CHUNK)
    if _looks_like_json(buffered):
        yield from json_objects(buffered, source)
    else:
        yield from yaml_objects(io.TextIOWrapper(buffered, encoding="utf-8"), source)
    reader.read_rest()
    if digests is not None:
        digests.append(SourceDigest(source, reader.digest.hexdigest(), reader.count))


def _looks_like_json(stream: Any) -> bool:
    """JSON (ijson) or YAML (PyYAML)? YAML flow style also starts with `{`, but its keys need no quotes."""
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


# --- JSON (ijson) -------------------------------------------------------------------------------------


def json_objects(
    stream: IO[bytes], source: str, *, lists: list[dict[str, Any]] | None = None
) -> Iterator[Located]:
    """Objects in a JSON stream: one or more concatenated documents; List items streamed.

    When `lists` is given, the other top-level keys of each List (its `metadata` with the `continue`
    token of a paged listing) are appended to it once the List has been read.
    """
    document = 0
    item: int | None = None
    try:
        events = iter(ijson.basic_parse(stream, multiple_values=True, use_float=True))
        for event, value in events:
            if event != "start_map":
                built = _build_json(event, value, events)
                yield Located(source, document, None, None, built)
                document += 1
                continue
            rest: dict[str, Any] = {}
            streamed = False
            for key_event, key in events:
                if key_event == "end_map":
                    break
                event, value = next(events)
                if key == "items" and event == "start_array" and not streamed:
                    streamed = True
                    item = 0
                    for item_event, item_value in events:
                        if item_event == "end_array":
                            break
                        yield Located(
                            source, document, item, None, _build_json(item_event, item_value, events)
                        )
                        item += 1  # noqa: SIM113 (also read by the error handler)
                    item = None
                    continue
                if key in rest or (key == "items" and streamed):
                    raise InputError(f"{source}: document {document}: duplicate key {key!r}")
                rest[key] = _build_json(event, value, events)
            if not streamed:
                yield Located(source, document, None, None, rest)
            else:
                check_list_document(rest, source, document)
                if lists is not None:
                    lists.append(rest)
            document += 1
    except ijson.JSONError as exc:
        at = f"{source}: document {document}" + (f": items[{item}]" if item is not None else "")
        raise InputError(f"{at}: invalid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def _build_json(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    if event == "start_map":
        mapping: dict[str, Any] = {}
        for key_event, key in events:
            if key_event == "end_map":
                return mapping
            if key in mapping:
                raise ijson.JSONError(f"duplicate key {key!r}")
            mapping[key] = _build_json(*next(events), events)
        raise ijson.IncompleteJSONError("unterminated object")
    if event == "start_array":
        array: list[Any] = []
        for item_event, item_value in events:
            if item_event == "end_array":
                return array
            array.append(_build_json(item_event, item_value, events))
        raise ijson.IncompleteJSONError("unterminated array")
    return value


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
    loader = builder.loader
    start = loader.get_event()  # MappingStart
    rest: dict[str, Any] = {}
    if start.anchor is not None:
        builder.anchors[start.anchor] = rest
    pairs: list[tuple[Any, Any, Any]] = []
    streamed = False
    while not loader.check_event(yaml.MappingEndEvent):
        key_event = loader.peek_event()
        key = builder.build()
        value_start = loader.peek_event()
        is_items = key == "items" and isinstance(value_start, yaml.SequenceStartEvent)
        if is_items and value_start.anchor is None and value_start.tag in (None, "!"):
            if streamed:
                raise InputError(f"{source}: document {document}: duplicate key 'items'")
            streamed = True
            loader.get_event()
            index = 0
            while not loader.check_event(yaml.SequenceEndEvent):
                line = loader.peek_event().start_mark.line + 1
                try:
                    obj = builder.build()
                except yaml.YAMLError as exc:
                    raise InputError(
                        f"{source}: document {document}: items[{index}]: {describe_yaml_error(exc)}"
                    ) from None
                yield Located(source, document, index, line, obj)
                index += 1
            loader.get_event()
            continue
        pairs.append((key_event, key, builder.build()))
    loader.get_event()
    builder.assign(rest, pairs, start)
    if streamed:
        if "items" in rest:
            raise InputError(f"{source}: document {document}: duplicate key 'items'")
        check_list_document(rest, source, document)
    else:
        yield Located(source, document, None, start.start_mark.line + 1, rest)
