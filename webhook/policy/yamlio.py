"""Reading YAML (and JSON, which is YAML) documents strictly.

PyYAML silently keeps the last of two equal keys; a policy or manifest with a duplicated key is almost
always a mistake that would hide a setting, so it is an error here. The C loader is used when PyYAML has
it (several times faster on large `kubectl get -o yaml` dumps).
"""

from __future__ import annotations

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

# Kubernetes reads YAML as JSON: `creationTimestamp: 2024-01-01T00:00:00Z` is a string, not a datetime.
# Dropping the timestamp resolver keeps such values strings, so they survive a JSON round trip unchanged.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in StrictLoader.yaml_implicit_resolvers.items()
}


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
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(str(path), 0, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise YamlError(str(path), 0, f"cannot read: {exc.strerror or exc}") from None
    return load_documents_text(text, str(path))


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"
