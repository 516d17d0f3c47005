"""AdmissionReview in and out, for `admission.k8s.io/v1` and `v1beta1` (see docs/webhook.md).

`parse_review` turns a request body into the engine's `Request`, or raises `ReviewError` with the HTTP
status and a message naming the field at fault. `answer` builds the response in the version asked,
echoing the uid, within the API server's limits on warnings and audit annotations.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .policy.engine import Request, UserInfo

API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")

# The API server truncates a warning over 256 characters and drops warnings past 4 KiB in total.
MAX_MESSAGE_CHARS = 16 * 1024
MAX_WARNING_CHARS = 256
MAX_WARNINGS_BYTES = 4096
# Audit annotations land in every audit event: keep each value, and all of them, small.
MAX_ANNOTATION_CHARS = 1024
MAX_ANNOTATIONS_BYTES = 8192
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_.-]+")


class ReviewError(ValueError):
    """A call that is not a usable AdmissionReview: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Review:
    api_version: str
    uid: str
    request: Request
    raw: Mapping[str, Any]  # the `request` object as received

    @property
    def kind(self) -> str:
        kind = self.raw.get("kind")
        return str(kind.get("kind") or "") if isinstance(kind, Mapping) else ""

    @property
    def name(self) -> str:
        """The name, or `generateName` for objects the API server will name (Pods of a ReplicaSet)."""
        name = self.raw.get("name")
        if isinstance(name, str) and name:
            return name
        obj = self.request.object or {}
        metadata = obj.get("metadata")
        if isinstance(metadata, Mapping):
            return str(metadata.get("name") or metadata.get("generateName") or "")
        return ""


def decode_json(body: bytes) -> Any:
    """JSON from the body, or ReviewError(400) saying why not (empty, not UTF-8, too deep, not JSON)."""
    if not body.strip():
        raise ReviewError(400, "the request body is empty: send an AdmissionReview as JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        if "utf-8" in text.lower():
            raise ReviewError(400, f"the request body is not valid UTF-8: {text}") from None
        if "depth" in text.lower() or "recursion" in text.lower():
            raise ReviewError(400, "the request body is nested too deeply to be an AdmissionReview") from None
        raise ReviewError(400, f"the request body is not JSON: {text}") from None


def parse_review(document: Any) -> Review:
    if not isinstance(document, Mapping):
        raise ReviewError(400, f"expected an AdmissionReview object, got a JSON {_json_type(document)}")
    if document.get("kind") != "AdmissionReview":
        raise ReviewError(400, f"kind is {document.get('kind')!r}: expected 'AdmissionReview'")
    api_version = document.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise ReviewError(
            400, f"apiVersion {api_version!r} is not supported: use one of {', '.join(API_VERSIONS)}"
        )
    raw = document.get("request")
    if not isinstance(raw, Mapping):
        problem = "is missing" if raw is None else f"is a JSON {_json_type(raw)}"
        raise ReviewError(400, f"request {problem}: an AdmissionReview carries a `request` object")
    uid = raw.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError(400, "request.uid is missing or not a string: it must be echoed in the response")
    operation = raw.get("operation")
    if not isinstance(operation, str) or not operation:
        raise ReviewError(
            400, "request.operation is missing or not a string (CREATE, UPDATE, DELETE, CONNECT)"
        )
    for field in (
        "object",
        "oldObject",
        "options",
        "kind",
        "resource",
        "requestKind",
        "requestResource",
        "userInfo",
    ):
        value = raw.get(field)
        if value is not None and not isinstance(value, Mapping):
            raise ReviewError(
                400, f"request.{field} is a JSON {_json_type(value)}: expected an object or null"
            )
    for field in ("namespace", "subResource", "requestSubResource", "name"):
        value = raw.get(field)
        if value is not None and not isinstance(value, str):
            raise ReviewError(400, f"request.{field} is a JSON {_json_type(value)}: expected a string")
    if raw.get("dryRun") is not None and not isinstance(raw.get("dryRun"), bool):
        raise ReviewError(
            400, f"request.dryRun is a JSON {_json_type(raw.get('dryRun'))}: expected a boolean"
        )
    if operation not in OPERATIONS:
        raise ReviewError(400, f"request.operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    for field in ("kind", "requestKind"):
        gvk = raw.get(field) or {}
        for part in ("group", "version", "kind"):
            if not isinstance(gvk.get(part, ""), str):
                raise ReviewError(
                    400, f"request.{field}.{part} is a JSON {_json_type(gvk.get(part))}: expected a string"
                )
    kind = raw.get("kind") or {}
    # Who asks decides exemptions: a user or group of the wrong type is refused, never coerced.
    user = raw.get("userInfo") or {}
    if not isinstance(user.get("username", ""), str):
        raise ReviewError(
            400, f"request.userInfo.username is a JSON {_json_type(user.get('username'))}: expected a string"
        )
    groups = user.get("groups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        raise ReviewError(400, "request.userInfo.groups must be an array of strings")
    request = Request(
        object=raw.get("object"),
        operation=operation,
        old_object=raw.get("oldObject"),
        kind=str(kind.get("kind")) if kind.get("kind") else None,
        subresource=str(raw.get("subResource") or ""),
        namespace=str(raw.get("namespace") or "") or None,
        user=UserInfo(username=str(user.get("username") or ""), groups=tuple(groups or ())),
        dry_run=raw.get("dryRun") is True,
        name=str(raw.get("name") or ""),  # the pod a CONNECT or eviction names
    )
    return Review(api_version=str(api_version), uid=uid, request=request, raw=raw)


def answer(
    review: Review,
    *,
    allowed: bool,
    message: str = "",
    warnings: Sequence[str] = (),
    audit_annotations: Mapping[str, str] | None = None,
    patch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The AdmissionReview response. A patch is only ever passed by /mutate, and only when non-empty."""
    response: dict[str, Any] = {"uid": review.uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": bound_message(message)}
    bounded = bound_warnings(warnings)
    if bounded:
        response["warnings"] = bounded
    annotations = bound_annotations(audit_annotations or {})
    if annotations:
        response["auditAnnotations"] = annotations
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(orjson.dumps(patch)).decode("ascii")
    return {"apiVersion": review.api_version, "kind": "AdmissionReview", "response": response}


def bound_message(message: str) -> str:
    """The denial message kubectl prints, cut at MAX_MESSAGE_CHARS: a pod with thousands of bad
    containers must not make a megabytes-long answer (the decision log keeps every violation)."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    cut = message[:MAX_MESSAGE_CHARS]
    return f"{cut}… ({len(message) - len(cut)} more characters left out; see the decision log)"


def bound_warnings(warnings: Sequence[str]) -> list[str]:
    """One line each, at most 256 characters, 4 KiB in all; says how many were left out."""
    kept: list[str] = []
    total = 0
    for index, warning in enumerate(warnings):
        text = _one_line(warning, MAX_WARNING_CHARS)
        size = len(text.encode())
        if total + size > MAX_WARNINGS_BYTES - 64:  # room for the "left out" line
            kept.append(f"podgate: {len(warnings) - index} more warning(s) left out; see the decision log")
            break
        kept.append(text)
        total += size
    return kept


def bound_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Keys made valid qualified names (the server prefixes them), values and total bounded."""
    bounded: dict[str, str] = {}
    total = 0
    for key, value in annotations.items():
        name = _ANNOTATION_KEY.sub("-", key).strip("-._")[:63] or "podgate"
        text = _one_line(value, MAX_ANNOTATION_CHARS)
        if total + len(name) + len(text) > MAX_ANNOTATIONS_BYTES:
            bounded["truncated"] = "more audit annotations left out; see the decision log"
            break
        bounded[name] = text
        total += len(name) + len(text)
    return bounded


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
