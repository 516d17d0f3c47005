"""Reading YAML (and JSON, which is YAML) documents strictly.

PyYAML silently keeps the last of two equal keys; a policy or manifest with a duplicated key is almost
always a mistake that would hide a setting, so it is an error here. The C loader is used when PyYAML has
it (several times faster on large `kubectl get -o yaml` dumps).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_Base):  # type: ignore[misc]
    """SafeLoader that rejects duplicate mapping keys."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in mapping
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# Speed: PyYAML's generic constructor (a generator per collection, bookkeeping per node) costs several
# times what libyaml spends parsing. `_build` walks the composed node tree directly for the tags a
# manifest is made of (str, map, seq) and hands every other node (int, bool, null, float, binary, explicit
# tags) to the generic constructor, so every value is the same object. Anything unusual (a duplicate or
# unhashable key, a self-containing alias, any error) makes the whole document go through the generic
# constructor again, so errors are exactly its errors. tests/test_yamlio_fast.py checks both claims.
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_MERGE_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


_PLAIN_SCALARS = {
    f"tag:yaml.org,2002:{name}": StrictLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("int", "float", "bool", "null")
}


class _Fallback(Exception):
    """The fast path declines this document; the generic constructor decides."""


def _build(loader: Any, node: yaml.Node, building: dict[int, Any]) -> Any:
    node_type = type(node)
    tag = node.tag
    if node_type is _ScalarNode:
        if tag == _STR_TAG:
            return node.value
        plain = _PLAIN_SCALARS.get(tag)  # int, float, bool, null: plain functions of the node
        return plain(loader, node) if plain is not None else loader.construct_object(node, deep=True)
    # An alias shares its anchor's node: the same node must give the same object, as in the generic path.
    key = id(node)
    if key in building:
        built = building[key]
        if built is _Fallback:  # still being built: the collection contains itself
            raise _Fallback
        return built
    building[key] = _Fallback
    if node_type is _SequenceNode and tag == _SEQ_TAG:
        built = [_build(loader, child, building) for child in node.value]
    elif node_type is _MappingNode and tag == _MAP_TAG:
        built = _build_mapping(loader, node, building)
    else:
        raise _Fallback  # an explicitly tagged collection (!!set, !!omap, an unknown tag)
    building[key] = built
    return built


def _build_mapping(loader: Any, node: Any, building: dict[int, Any]) -> dict[Any, Any]:
    for key_node, _ in node.value:
        if key_node.tag in _MERGE_TAGS:
            raise _Fallback  # `<<: *base` merge keys
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if type(key_node) is not _ScalarNode:
            raise _Fallback  # a collection as a key: unhashable, the generic path words the error
        key = key_node.value if key_node.tag == _STR_TAG else _build(loader, key_node, building)
        if key in mapping:
            raise _Fallback
        mapping[key] = _build(loader, value_node, building)
    return mapping


def _construct_document(loader: Any, node: yaml.Node) -> Any:
    try:
        return _build(loader, node, {})
    except Exception:  # any problem: the generic constructor gives the answer or the error
        pass
    finally:
        # Reset what a failed fast attempt may leave behind: PyYAML's construct_object(deep=True) does not
        # restore `deep_construct` when it raises, and a deep generic pass reports errors in another order.
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        loader.state_generators = []
        loader.deep_construct = False
    return _generic_construct_document(loader, node)


_generic_construct_document = StrictLoader.construct_document
StrictLoader.construct_document = _construct_document

# Kubernetes reads YAML as JSON: `creationTimestamp: 2024-01-01T00:00:00Z` is a string, not a datetime.
# Dropping the timestamp resolver keeps such values strings, so they survive a JSON round trip unchanged.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in StrictLoader.yaml_implicit_resolvers.items()
}


# The tag of a scalar depends only on its text and whether it was quoted (SafeLoader has no path
# resolvers), and manifests repeat the same keys and values over and over: remember the answers instead
# of running the resolver's regular expressions (in Python) for each of them. Bounded: cleared when full.
_resolved: dict[tuple[Any, Any], str] = {}
_generic_resolve = StrictLoader.resolve


def _resolve(loader: Any, kind: Any, value: Any, implicit: Any) -> str:
    if kind is not _ScalarNode:
        return _generic_resolve(loader, kind, value, implicit)  # type: ignore[no-any-return]
    key = (value, implicit)
    tag = _resolved.get(key)
    if tag is None:
        tag = _generic_resolve(loader, kind, value, implicit)
        if len(_resolved) >= 100_000:
            _resolved.clear()
        _resolved[key] = tag
    return tag


StrictLoader.resolve = _resolve


def _no_path_resolvers(loader: Any, *args: Any) -> None:
    """SafeLoader registers no path resolvers: nothing to track per node."""


StrictLoader.descend_resolver = _no_path_resolvers
StrictLoader.ascend_resolver = _no_path_resolvers
assert not StrictLoader.yaml_path_resolvers


# The cyclic garbage collector runs every few hundred allocations and walks every live container: while
# a large document's hundreds of thousands of nodes and dicts are being built that grows quadratically
# (measured: 1,000 kubectl pods in one List, 9.5 s of CPU with it, 2.4 s without). Nothing built here
# needs it (reference counting frees the node tree), so it is paused while one document is read.
def _without_gc(read: Any) -> Any:
    def reading(loader: Any) -> Any:
        if not gc.isenabled():
            return read(loader)
        gc.disable()
        try:
            return read(loader)
        finally:
            gc.enable()

    return reading


StrictLoader.get_data = _without_gc(StrictLoader.get_data)
StrictLoader.get_single_data = _without_gc(StrictLoader.get_single_data)


class YamlError(ValueError):
    """A file that is not valid YAML; `document` is the index of the document that failed."""

    def __init__(self, source: str, document: int, reason: str) -> None:
        self.source, self.document, self.reason = source, document, reason
        super().__init__(f"{source}: document {document}: {reason}")


def load_documents_text(text: str, source: str) -> list[Any]:
    documents: list[Any] = []
    try:
        for document in yaml.load_all(text, Loader=StrictLoader):
            documents.append(document)
    except yaml.YAMLError as exc:
        raise YamlError(source, len(documents), describe_yaml_error(exc)) from None
    return documents


def load_documents(path: str | Path) -> list[Any]:
    return load_documents_text(read_text(path), str(path))


def read_text(path: str | Path) -> str:
    """A YAML file's text; a file that cannot be read, or is not UTF-8, is a YamlError naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(str(path), 0, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise YamlError(str(path), 0, f"cannot read: {exc.strerror or exc}") from None


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"
