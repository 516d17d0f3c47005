"""default-labels: add labels the pod is missing (never change one it has).

Sets `metadata.labels.<key>` of the pod, or of the pod template for workloads (the labels the pods
are created with, which NetworkPolicies select). Pairs with the network-labels check: a pod created
without a zone label gets the default zone instead of being denied.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from ..labels import label_key_problem, label_value_problem
from ..podspec import PodView, ensure_mapping
from ..registry import CheckParams, Mutator, mutator


class Params(CheckParams):
    labels: dict[str, str] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _valid(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            problem = label_key_problem(key) or label_value_problem(value)
            if problem:
                raise ValueError(problem)
        return labels


def label_target(key: str) -> str:
    """The mutation target of one label: `metadata.labels.app`, `metadata.labels[app.kubernetes.io/name]`."""
    return f"metadata.labels.{key}" if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f"metadata.labels[{key}]"


@mutator("default-labels", params=Params, summary="add missing pod labels with default values")
def build(params: Params) -> Mutator:
    defaults = tuple(sorted(params.labels.items()))

    def apply(pod: PodView) -> None:
        labels: dict[str, Any] = ensure_mapping(ensure_mapping(pod.node, "metadata"), "labels")
        for key, value in defaults:
            if labels.get(key) is None:
                labels[key] = value

    return Mutator(apply=apply, targets=frozenset(label_target(key) for key, _ in defaults))
