"""network-labels: every pod carries the labels that NetworkPolicies select it by.

A pod without them is selected by no NetworkPolicy and so reaches, and is reached by, everything
that the namespace's default allows. For workloads the labels that count are the pod template's
(`spec.template.metadata.labels`), which the pods are created with, not the workload's own.

Restricted fields:
  metadata.labels (of the pod, or of the pod template)
Allowed values:
  every label in `labels` is present; when the entry lists `values` the value is one of them, when it
  gives a `pattern` (a regular expression) the whole value matches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import Field, field_validator, model_validator

from ..labels import label_key_problem, label_path, label_value_problem
from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding


class RequiredLabel(CheckParams):
    key: str
    values: list[str] = Field(default_factory=list)
    pattern: str | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        problem = label_key_problem(key)
        if problem:
            raise ValueError(problem)
        return key

    @field_validator("values")
    @classmethod
    def _values(cls, values: list[str]) -> list[str]:
        for value in values:
            problem = label_value_problem(value)
            if problem:
                raise ValueError(problem)
        return values

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _values_or_pattern(self) -> RequiredLabel:
        if self.values and self.pattern is not None:
            raise ValueError(f"label {self.key!r}: give either `values` or `pattern`, not both")
        return self


class Params(CheckParams):
    labels: list[RequiredLabel] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[RequiredLabel]) -> list[RequiredLabel]:
        keys = [label.key for label in labels]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"label {key!r} is listed twice")
        return labels


@check("network-labels", params=Params, summary="pods carry the labels NetworkPolicies select them by")
def build(params: Params) -> CheckFn:
    required = tuple(
        (
            label.key,
            frozenset(label.values) or None,
            re.compile(label.pattern) if label.pattern is not None else None,
            ", ".join(label.values) if label.values else f"/{label.pattern}/",
        )
        for label in params.labels
    )

    def run(pod: PodView) -> Iterator[Finding]:
        labels = pod.labels
        for key, values, pattern, allowed in required:
            value = labels.get(key)
            if (
                value is not None
                and (values is None or value in values)
                and (pattern is None or pattern.fullmatch(value))
            ):
                continue
            path = label_path(pod.metadata_path, key)
            owner = "the pod" if not pod.prefix else f"the pod template ({pod.metadata_path})"
            if value is None:
                fix = f"add the label {key}" + (f" with one of: {allowed}" if values else "")
                fix += f" matching {allowed}" if pattern else ""
                yield Finding(path, None, f"{owner} must carry the label {key}", fix)
            else:
                yield Finding(
                    path,
                    value,
                    f"{owner} has label {key}={value}, which is not allowed",
                    f"set it to one of: {allowed}" if values else f"set it to a value matching {allowed}",
                )

    return run
