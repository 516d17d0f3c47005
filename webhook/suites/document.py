"""The PolicyTest document: pydantic models, strict (unknown fields and wrong types are errors)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel)


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


class ExpectedViolation(_Strict):
    policy: str
    rule: str | None = None
    path: str | None = None  # exact
    message: str | None = None  # regex, searched in the message

    @field_validator("message")
    @classmethod
    def _message_is_a_regex(cls, value: str | None) -> str | None:
        return _regex(value)


class Expect(_Strict):
    allowed: bool
    violations: list[ExpectedViolation] | None = None  # when given: exactly these, in any order
    warnings: list[str] | None = None  # when given: exactly this many, each a regex, in order
    audit_annotations: dict[str, str] | None = None  # when given: exactly these keys, values regexes
    patch: list[dict[str, Any]] | None = None  # the exact JSON Patch
    patched: str | None = None  # golden file of the patched object, relative to the suite
    patched_allowed: bool | None = None  # the patched object passes the same policies

    @field_validator("warnings")
    @classmethod
    def _warnings_are_regexes(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            _regex(item)
        return value

    @field_validator("audit_annotations")
    @classmethod
    def _annotations_are_regexes(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for item in (value or {}).values():
            _regex(item)
        return value


class UserInfoDocument(_Strict):
    username: str = ""
    groups: list[str] = []


class TargetMetadataDocument(_Strict):
    """The held pod's metadata as the webhook's held-pod cache supplies it for a CONNECT or eviction,
    which names the pod without carrying it. Absent: the cache cannot say (not synced)."""

    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class CaseDocument(_Strict):
    name: str = Field(min_length=1)
    object: str | dict[str, Any]  # fixture file (relative to the suite) or an inline object
    operation: Operation = "CREATE"
    old_object: str | dict[str, Any] | None = None
    sub_resource: str = ""
    namespace: str | None = None
    namespace_labels: dict[str, str] | None = None
    user_info: UserInfoDocument | None = None
    dry_run: bool = False
    target_metadata: TargetMetadataDocument | None = None  # CONNECT / eviction cases only
    expect: Expect


class SuiteMetadata(_Strict):
    name: str = Field(min_length=1)


class SuiteSpec(_Strict):
    policies: list[str] = Field(min_length=1)  # files or directories, relative to the suite file
    cases: list[CaseDocument] = Field(min_length=1)


class SuiteDocument(_Strict):
    api_version: Literal["podgate.io/v1alpha1"]
    kind: Literal["PolicyTest"]
    metadata: SuiteMetadata
    spec: SuiteSpec
