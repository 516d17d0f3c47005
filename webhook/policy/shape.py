"""Is the pod spec well-formed? Type-check it against the Kubernetes API schema before any check runs.

The API server decodes objects into typed structs before it calls a webhook, but the CLI reads files
and the webhook must not trust its callers: a string where a boolean belongs (`privileged: "true"`) must
never slip past a check that tests `is True`. So checks may assume well-typed input, and this module
reports the first field of the wrong type, with its path, before they run. The engine turns that into a
denial that says what is malformed, never an allow.

The types (`k8s_types.py`) are msgspec Structs generated from the official `kubernetes` client's models
(`python tools/gen_k8s_types.py > webhook/policy/k8s_types.py`). msgspec checks a whole pod spec in a
few microseconds, several times faster than any validator we could write in Python, and names the exact
path of a bad field. Unknown fields are ignored (the API server drops them); `null` means "unset".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .k8s_types import V1ObjectMeta, V1PodSpec
from .podspec import PodView

_ERROR = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


class _PodNode(msgspec.Struct, gc=False):
    """The pod (or template) node: its metadata and spec, type-checked in one pass."""

    metadata: V1ObjectMeta | None = None
    spec: V1PodSpec | None = None


def shape_problems(obj: Mapping[str, Any], pod: PodView) -> list[tuple[str, str]]:
    """The first badly typed field of the pod or of the object's metadata, as [(path, problem)]."""
    # The common case, a well-typed pod, in one conversion of the pod (or template) node, after the
    # workload's own metadata; on any problem, the field-by-field walk finds and names the first bad field.
    try:
        if pod.prefix and (metadata := obj.get("metadata")) is not None:
            msgspec.convert(metadata, V1ObjectMeta, strict=True)
        msgspec.convert(pod.node, _PodNode, strict=True)
    except msgspec.ValidationError:
        return field_by_field_problems(obj, pod)
    return []


def field_by_field_problems(obj: Mapping[str, Any], pod: PodView) -> list[tuple[str, str]]:
    """The reference walk: object metadata, template metadata, then the spec; the first problem."""
    metadata = obj.get("metadata")
    checks: list[tuple[Any, type, str]] = [(metadata, V1ObjectMeta, "metadata")]
    if pod.prefix:
        template_metadata = _template(obj, pod).get("metadata")
        checks.append((template_metadata, V1ObjectMeta, pod.metadata_path))
    checks.append((pod.spec, V1PodSpec, pod.spec_path))
    for value, struct, path in checks:
        if value is None:
            continue
        try:
            msgspec.convert(value, struct, strict=True)
        except msgspec.ValidationError as exc:
            return [_problem(str(exc), path)]
    return []


def _problem(message: str, base: str) -> tuple[str, str]:
    """msgspec's "Expected `bool | null`, got `str` - at `$.containers[0].x`" as a path and a sentence."""
    match = _ERROR.match(message)
    assert match is not None  # the pattern matches any text
    what = match.group("what").replace(" | null", "")
    what = re.sub(r"`(\w+)`", lambda m: _TYPE_NAMES.get(m.group(1), m.group(1)), what)
    what = re.sub(r"^Expected (.*), got (.*)$", r"must be \1, not \2", what)
    return base + (match.group("path") or ""), what[:1].lower() + what[1:]


_TYPE_NAMES = {"bool": "a boolean", "str": "a string", "int": "an integer", "float": "a number",
               "object": "a mapping", "array": "a list", "null": "null"}  # fmt: skip


def _template(obj: Mapping[str, Any], pod: PodView) -> Mapping[str, Any]:
    node: Any = obj
    for key in pod.prefix.rstrip(".").split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}
