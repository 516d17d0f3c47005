"""Python objects straight from PyYAML's C parser events, for the items of a streamed List.

PyYAML builds a node graph and then constructs objects from it, both in pure Python; on a large dump
that costs five times the parse itself. Here the objects are built from the events directly, with the
loader's own resolver (its answers remembered: manifests repeat the same keys and values) and its own
constructors for the non-string scalars, so the values are those `yaml.load(..., Loader=StrictLoader)`
gives: the same implicit types, timestamps kept as strings, duplicate keys refused, anchors shared. Merge
keys (`<<`) are applied as YAML means them (an explicit key overrides a merged one, where StrictLoader
calls that a duplicate). Collections with a non-standard explicit tag (`!!set`, `!!omap`) are refused.

Speed: the C parser's events are the floor (each is a Python object with two marks, ~60% of the time);
on top of them the builder asks for each event once (`get_event`, never `check_event`/`peek_event`),
takes the common events inline in one loop per mapping and per sequence, and looks plain scalars up in a
table of values already resolved.
"""

from __future__ import annotations

from typing import Any

import yaml

_YAML: Any = yaml  # PyYAML's stubs do not know the C parser's Mark class
STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
MERGE = "tag:yaml.org,2002:merge"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
_CACHE_LIMIT = 50_000
_PLAIN_TAGS = (None, "!")
_MAP_TAGS = (None, "!", MAP)
_SEQ_TAGS = (None, "!", SEQ)
_Scalar, _MapStart, _MapEnd = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.MappingEndEvent
_SeqStart, _SeqEnd, _Alias = yaml.SequenceStartEvent, yaml.SequenceEndEvent, yaml.AliasEvent
_NO_KEY: Any = object()  # a mapping frame waiting for its next key
_MISSING: Any = object()


class _Frame:
    """A collection being built: its start event, and for a mapping the key waiting for its value."""

    __slots__ = ("container", "key", "key_event", "merges", "start")

    def __init__(self, container: Any, start: Any) -> None:
        self.container = container
        self.start = start
        self.key: Any = _NO_KEY
        self.key_event: Any = None
        self.merges: list[tuple[Any, Any]] | None = None


class EventBuilder:
    """Builds one value per call from `loader`'s events; `anchors` live for the whole document."""

    def __init__(self, loader: Any, plain: dict[str, Any] | None = None) -> None:
        self.loader = loader
        self.anchors: dict[str, Any] = {}
        # plain scalar text -> its value (str, int, float, bool, None); may be shared between builders
        self._plain: dict[str, Any] = {} if plain is None else plain
        self._first = frozenset(loader.yaml_implicit_resolvers)  # first characters of non-string scalars

    def build(self, event: Any = None) -> Any:
        """The value that starts with `event` (default: the next event), built whole."""
        try:
            return self._value(self.loader.get_event() if event is None else event)
        except RecursionError:  # one Python frame per level; libyaml itself stops at 1,000 levels
            raise _YAML.composer.ComposerError(
                None, None, "nested too deeply (the reader's limit is a few hundred levels)", None
            ) from None

    # The two loops below take the common events (untagged plain and quoted scalars, untagged
    # collections) inline and hand everything else to `_value`; they recurse once per collection.

    def _mapping(self, start: Any) -> dict[Any, Any]:
        get, plain, value_of = self.loader.get_event, self._plain, self._value
        mapping: dict[Any, Any] = {}
        frame: _Frame | None = None  # made only for a key that is not simply new (see `put`)
        if start.anchor is not None:
            self.anchors[start.anchor] = mapping
        while True:
            event = get()
            kind = type(event)
            if kind is _Scalar and event.tag is None and event.anchor is None:
                key = event.value
                if not event.style:
                    key = plain.get(key, _MISSING)
                    if key is _MISSING:
                        key = self._scalar(event) if event.value != "=" else "="  # as flatten_mapping
            elif kind is _MapEnd:
                return mapping if frame is None else self.finish(frame)
            else:
                key = value_of(event)
            value_event = get()
            kind = type(value_event)
            if kind is _Scalar and value_event.tag is None and value_event.anchor is None:
                value = value_event.value
                if not value_event.style:
                    value = plain.get(value, _MISSING)
                    if value is _MISSING:
                        value = self._scalar(value_event)
            elif kind is _MapStart and value_event.tag is None:
                value = self._mapping(value_event)
            elif kind is _SeqStart and value_event.tag is None:
                value = self._sequence(value_event)
            else:
                value = value_of(value_event)
            try:
                fresh = key not in mapping and key != "<<"
            except TypeError:
                fresh = False
            if fresh:
                mapping[key] = value
            else:
                if frame is None:
                    frame = _Frame(mapping, start)
                frame.key, frame.key_event = key, event
                self.put(frame, value)

    def _sequence(self, start: Any) -> list[Any]:
        get, plain, value_of = self.loader.get_event, self._plain, self._value
        items: list[Any] = []
        if start.anchor is not None:
            self.anchors[start.anchor] = items
        append = items.append
        while True:
            event = get()
            kind = type(event)
            if kind is _Scalar and event.tag is None and event.anchor is None:
                value = event.value
                if not event.style:
                    value = plain.get(value, _MISSING)
                    if value is _MISSING:
                        value = self._scalar(event)
                append(value)
            elif kind is _MapStart and event.tag is None:
                append(self._mapping(event))
            elif kind is _SeqStart and event.tag is None:
                append(self._sequence(event))
            elif kind is _SeqEnd:
                return items
            else:
                append(value_of(event))

    def _value(self, event: Any) -> Any:
        """Any value, whatever its tag or anchor."""
        kind = type(event)
        if kind is _Scalar:
            if event.tag in _PLAIN_TAGS and (event.style or not event.implicit[0]):
                value = event.value  # quoted or block scalars are strings (plain: style None or "")
            else:
                value = self._scalar(event)
            if event.anchor is not None:
                self.anchors[event.anchor] = value
            return value
        if kind is _MapStart:
            if event.tag not in _MAP_TAGS:
                raise self._unknown_tag(event)
            return self._mapping(event)
        if kind is _SeqStart:
            if event.tag not in _SEQ_TAGS:
                raise self._unknown_tag(event)
            return self._sequence(event)
        if kind is _Alias:
            if event.anchor not in self.anchors:
                raise _YAML.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            return self.anchors[event.anchor]
        raise _YAML.composer.ComposerError(  # pragma: no cover - no other event starts a value
            None, None, f"unexpected {kind.__name__}", event.start_mark
        )

    def put(self, frame: _Frame, value: Any) -> None:
        """Set `frame.key` to `value` in the frame's mapping: a duplicate refused, a merge key kept apart."""
        key, key_event, mapping = frame.key, frame.key_event, frame.container
        frame.key = _NO_KEY
        try:
            duplicate = key in mapping
        except TypeError:
            raise _YAML.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_event.start_mark
            ) from None
        if key == "<<" and type(key_event) is _Scalar and not key_event.style and key_event.tag is None:
            if frame.merges is None:
                frame.merges = []
            frame.merges.append((key_event, value))
            return
        if duplicate:
            raise _YAML.constructor.ConstructorError(
                "while constructing a mapping",
                frame.start.start_mark,
                f"duplicate key {key!r}",
                key_event.start_mark,
            )
        mapping[key] = value

    def mapping_frame(self, start: Any) -> _Frame:
        """A frame for a mapping read by the caller key by key (the top level of a streamed List)."""
        return _Frame({}, start)

    def _merge(self, frame: _Frame) -> None:
        """Explicit keys win over merged ones, earlier merges over later (YAML's merge key)."""
        mapping = frame.container
        for key_event, value in frame.merges or ():
            for source in value if isinstance(value, list) else [value]:
                if not isinstance(source, dict):
                    raise _YAML.constructor.ConstructorError(
                        "while constructing a mapping",
                        frame.start.start_mark,
                        "expected a mapping or list of mappings for merging",
                        key_event.start_mark,
                    )
                for k, v in source.items():
                    mapping.setdefault(k, v)

    def finish(self, frame: _Frame) -> dict[Any, Any]:
        if frame.merges is not None:
            self._merge(frame)
        return frame.container  # type: ignore[no-any-return]

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":  # a plain scalar: its value depends on its text alone
            if value and value[0] not in self._first:
                return value  # no implicit type starts with this character: a string (names, uids)
            plain = self._plain
            if value in plain:
                return plain[value]
            tag = self.loader.resolve(yaml.ScalarNode, value, (True, False))
            built = self._construct(tag, event)
            if len(plain) > _CACHE_LIMIT:
                plain.clear()
            plain[value] = built
            return built
        return self._construct(tag, event)

    def _construct(self, tag: str, event: Any) -> Any:
        value: str = event.value
        if tag in (STR, MERGE):  # `<<` is kept as text; `put` recognises it by its event
            return value
        if tag == NULL:
            return None
        node = _YAML.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        try:
            if tag in (BOOL, INT, FLOAT):
                return self.loader.yaml_constructors[tag](self.loader, node)
            return self.loader.construct_document(node)
        except (ValueError, TypeError, KeyError):  # `!!int x`: PyYAML's constructors let these through
            raise _YAML.constructor.ConstructorError(
                None, None, f"{value!r} is not a valid {tag}", event.start_mark
            ) from None

    def _unknown_tag(self, event: Any) -> Exception:
        """A collection with an explicit, non-standard tag (`!!set`, `!!omap`, a custom tag)."""
        return _YAML.constructor.ConstructorError(  # type: ignore[no-any-return]
            None, None, f"could not determine a constructor for the tag {event.tag!r}", event.start_mark
        )
