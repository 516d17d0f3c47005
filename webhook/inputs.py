"""Reading objects to judge from files and stdin, for the CLI front-ends (evaluate, test, audit).

Accepted: YAML or JSON, multi-document files, `kind: List` (and `PodList`, `DeploymentList`, ... as
`kubectl get -o yaml|json` prints them), and whole AdmissionReview requests, whose operation,
userInfo, oldObject, subresource and dryRun then become the request context. Documents are read
lazily, one at a time, so a large dump never has to be held in memory as a whole.

Speed: a `.json` file is decoded by orjson in one call (tens of times faster than any YAML loader);
if orjson refuses it (a multi-document stream, YAML in a .json file) it is read as YAML like any other
file. JSON decoding keeps the last of two equal keys, as the API server's own JSON decoder does, so
the CLI sees the value the cluster would see. YAML is read by PyYAML's C loader (libyaml) with the strict
constructor of `yamlio` (duplicate keys are errors, timestamps stay strings).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from .policy.engine import Request, UserInfo
from .policy.yamlio import StrictLoader, describe_yaml_error

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class InputObject:
    """One object to judge, with where it came from."""

    source: str  # file path, or "-" for stdin
    document: int  # index of the YAML/JSON document in the source
    item: int | None  # index inside a List, when the document was a List
    request: Request
    review: Mapping[str, Any] | None = field(default=None)  # the AdmissionReview it came in, if any

    @property
    def where(self) -> str:
        text = f"{self.source}: document {self.document}"
        return text if self.item is None else f"{text}: items[{self.item}]"


class InputError(ValueError):
    """Input that cannot be read as objects; the message names the source and document."""


def manifest_files(paths: Iterable[str]) -> Iterator[str]:
    """Files as given; directories walked recursively for *.yaml, *.yml, *.json, in sorted order."""
    for given in paths:
        path = Path(given)
        if given != "-" and path.is_dir():
            for file in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
                if file.is_file() and file.suffix in MANIFEST_SUFFIXES and not hidden:
                    yield str(file)
        else:
            yield given


def read_inputs(
    paths: Iterable[str], *, stdin: TextIO | None = None, namespace_labels: Mapping[str, str] | None = None
) -> Iterator[InputObject]:
    """Every object in `paths` ("-" is stdin), in order. Raises InputError on unreadable input."""
    for source in manifest_files(paths):
        for index, document in _documents(source, stdin or sys.stdin):
            if document is None:
                continue
            yield from objects_in_document(document, source, index, namespace_labels=namespace_labels)


def objects_in_document(
    document: Any, source: str, index: int, *, namespace_labels: Mapping[str, str] | None = None
) -> Iterator[InputObject]:
    if not isinstance(document, Mapping):
        raise InputError(f"{source}: document {index}: expected a Kubernetes object (a mapping)")
    kind = document.get("kind")
    if kind == "AdmissionReview":
        yield InputObject(source, index, None, review_request(document, source, index), document)
    elif isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list):
        for item_index, item in enumerate(document["items"]):
            if not isinstance(item, Mapping):
                raise InputError(f"{source}: document {index}: items[{item_index}] is not an object")
            yield InputObject(source, index, item_index, object_request(item, namespace_labels))
    else:
        yield InputObject(source, index, None, object_request(document, namespace_labels))


def object_request(obj: Mapping[str, Any], namespace_labels: Mapping[str, str] | None = None) -> Request:
    """A plain manifest is judged as if it were being created."""
    return Request(object=obj, operation="CREATE", namespace_labels=namespace_labels)


def review_request(review: Mapping[str, Any], source: str = "<review>", index: int = 0) -> Request:
    """The engine request inside an AdmissionReview (v1 or v1beta1)."""
    request = review.get("request")
    if not isinstance(request, Mapping):
        raise InputError(f"{source}: document {index}: AdmissionReview has no `request` object")
    user = request.get("userInfo")
    user = user if isinstance(user, Mapping) else {}
    groups = user.get("groups")
    kind = request.get("kind")
    return Request(
        object=_mapping_or_none(request.get("object")),
        operation=str(request.get("operation") or ""),
        old_object=_mapping_or_none(request.get("oldObject")),
        kind=str(kind.get("kind")) if isinstance(kind, Mapping) and kind.get("kind") else None,
        subresource=str(request.get("subResource") or ""),
        namespace=str(request.get("namespace") or "") or None,
        user=UserInfo(
            username=str(user.get("username") or ""),
            groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        ),
        dry_run=request.get("dryRun") is True,
        name=str(request.get("name") or ""),
    )


def _mapping_or_none(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _documents(source: str, stdin: TextIO) -> Iterator[tuple[int, Any]]:
    if source != "-" and source.endswith(".json"):
        document = _json_document(source)
        if document is not _NOT_JSON:
            yield 0, document
            return
    try:
        stream: TextIO = stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from None
    count = 0
    try:
        with stream if source != "-" else contextlib.nullcontext(stream):
            for document in yaml.load_all(stream, Loader=StrictLoader):
                yield count, document
                count += 1
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: document {count}: {describe_yaml_error(exc)}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None


_NOT_JSON = object()


def _json_document(source: str) -> Any:
    """The one JSON document in `source`, or _NOT_JSON when orjson cannot read it (YAML will try)."""
    import orjson

    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_JSON
