"""Python objects straight from PyYAML's C parser events, for the items of a streamed List.

PyYAML builds a node graph and then constructs objects from it, both in pure Python; on a large dump
that costs five times the parse itself. Here the objects are built from the events directly, with the
loader's own resolver (cached: manifests repeat the same keys and values) and its own constructors for
the non-string scalars, so the values are those `yaml.load(..., Loader=StrictLoader)` gives: the same
implicit types, timestamps kept as strings, duplicate keys refused, anchors shared. Merge keys (`<<`)
are applied as YAML means them (an explicit key overrides a merged one, where StrictLoader calls that a
duplicate). Collections with a non-standard explicit tag (`!!set`, `!!omap`) are refused.
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


class EventBuilder:
    """Builds one value per call from `loader`'s events; `anchors` live for the whole document."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.anchors: dict[str, Any] = {}
        self._tags: dict[str, str] = {}

    def build(self) -> Any:
        loader = self.loader
        event = loader.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            value = self._scalar(event)
        elif kind is yaml.MappingStartEvent:
            if event.tag not in (None, "!", MAP):
                return self._by_constructor(event)
            value = {}
            if event.anchor is not None:
                self.anchors[event.anchor] = value
            self._fill_mapping(value, event)
            return value
        elif kind is yaml.SequenceStartEvent:
            if event.tag not in (None, "!", SEQ):
                return self._by_constructor(event)
            items: list[Any] = []
            if event.anchor is not None:
                self.anchors[event.anchor] = items
            while not loader.check_event(yaml.SequenceEndEvent):
                items.append(self.build())
            loader.get_event()
            return items
        elif kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise _YAML.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            return self.anchors[event.anchor]
        else:  # pragma: no cover - the parser emits only the events above inside a document
            raise _YAML.composer.ComposerError(None, None, f"unexpected {kind.__name__}", event.start_mark)
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        return value

    def _fill_mapping(self, mapping: dict[Any, Any], start: Any) -> None:
        loader = self.loader
        pairs = []
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.peek_event()
            pairs.append((key_event, self.build(), self.build()))
        loader.get_event()
        self.assign(mapping, pairs, start)

    def assign(self, mapping: dict[Any, Any], pairs: list[tuple[Any, Any, Any]], start: Any) -> None:
        """Put (key event, key, value) pairs into `mapping`: duplicates refused, merge keys applied."""
        merges = []
        for key_event, key, value in pairs:
            if (
                type(key_event) is yaml.ScalarEvent
                and key_event.value == "<<"
                and not key_event.style
                and key_event.tag is None
            ):
                merges.append((key_event, value))
                continue
            try:
                duplicate = key in mapping
            except TypeError:
                raise _YAML.constructor.ConstructorError(
                    None, None, f"unhashable key {key!r}", key_event.start_mark
                ) from None
            if duplicate:
                raise _YAML.constructor.ConstructorError(
                    "while constructing a mapping",
                    start.start_mark,
                    f"duplicate key {key!r}",
                    key_event.start_mark,
                )
            mapping[key] = value
        for key_event, value in merges:  # explicit keys win over merged ones, earlier merges over later
            for source in value if isinstance(value, list) else [value]:
                if not isinstance(source, dict):
                    raise _YAML.constructor.ConstructorError(
                        "while constructing a mapping",
                        start.start_mark,
                        "expected a mapping or list of mappings for merging",
                        key_event.start_mark,
                    )
                for k, v in source.items():
                    mapping.setdefault(k, v)

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if event.style or not event.implicit[0]:
                return value  # quoted or block scalars are strings (plain: style None or "")
            tag = self._tags.get(value)
            if tag is None:
                tag = self.loader.resolve(yaml.ScalarNode, value, (True, False))
                if len(self._tags) > _CACHE_LIMIT:
                    self._tags.clear()
                self._tags[value] = tag
        if tag in (STR, MERGE):  # `<<` is kept as text; `assign` recognises it by its event
            return value
        node = _YAML.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        if tag == NULL:
            return None
        if tag in (BOOL, INT, FLOAT):
            return self.loader.yaml_constructors[tag](self.loader, node)
        return self.loader.construct_document(node)

    def _by_constructor(self, event: Any) -> Any:
        """A collection with an explicit, non-standard tag: let the loader compose and construct it."""
        raise _YAML.constructor.ConstructorError(
            None, None, f"could not determine a constructor for the tag {event.tag!r}", event.start_mark
        )
