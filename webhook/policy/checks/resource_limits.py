"""resource-limits: every container says what it needs (requests) and may use (limits).

Restricted fields:
  spec.{initContainers,containers}[*].resources.requests.{cpu,memory,ephemeral-storage}
  spec.{initContainers,containers}[*].resources.limits.{cpu,memory,ephemeral-storage}
  (ephemeral containers cannot carry resources, so they are not judged)
Allowed values:
  requests: every resource listed in `requests` is set. A request that is absent while its limit is
    set counts as the limit, as the API server defaults it (`limitsImplyRequests: false` to refuse).
  limits: every resource listed in `limits` is set.
  minRequests/maxRequests, minLimits/maxLimits: the value, parsed as a Kubernetes quantity, lies
    within the bound (`500m` = 0.5 cpu, `1Gi` = 1024Mi).
  maxLimitRequestRatio: limit / request does not exceed the ratio (as in a LimitRange).
  Pod-level resources (spec.resources) count as set for every container: the containers share them,
  so a container may then leave that resource out. Bounds and ratios apply to containers' own values.
  Every value present must be a valid quantity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from ..podspec import PodView
from ..quantity import QuantityError, parse_quantity
from ..registry import CheckFn, CheckParams, check
from ..result import Finding

Resource = Literal["cpu", "memory", "ephemeral-storage"]


def non_negative_quantity(value: str | int | float) -> str | int | float:
    """A parameter that must be a quantity >= 0 (validated at load, reported at its own path)."""
    if parse_quantity(value) < 0:  # QuantityError is a ValueError: pydantic reports it
        raise ValueError(f"{value!r} must not be negative")
    return value


QuantityText = Annotated[
    str | int | float, Field(union_mode="left_to_right"), AfterValidator(non_negative_quantity)
]
Bounds = dict[Resource, QuantityText]
CPU_AND_MEMORY: tuple[Resource, ...] = ("cpu", "memory")
Items = tuple[tuple[str, Any], ...]  # a requests or limits map, hashable
Problem = tuple[str, Any, str, str]  # (field below the container, value, problem, fix)
PodLevel = tuple[frozenset[str], frozenset[str]]  # resources requested / limited for the whole pod


class Params(CheckParams):
    requests: list[Resource] = Field(default_factory=lambda: list(CPU_AND_MEMORY))
    limits: list[Resource] = Field(default_factory=lambda: list(CPU_AND_MEMORY))
    limits_imply_requests: bool = True
    min_requests: Bounds = Field(default_factory=dict)
    max_requests: Bounds = Field(default_factory=dict)
    min_limits: Bounds = Field(default_factory=dict)
    max_limits: Bounds = Field(default_factory=dict)
    max_limit_request_ratio: Bounds = Field(default_factory=dict)

    @model_validator(mode="after")
    def _minimum_below_maximum(self) -> Params:
        for low, high, what in (
            (self.min_requests, self.max_requests, "Requests"),
            (self.min_limits, self.max_limits, "Limits"),
        ):
            for resource in sorted(low.keys() & high.keys()):
                if parse_quantity(low[resource]) > parse_quantity(high[resource]):
                    minimum, maximum = f"min{what}.{resource}", f"max{what}.{resource}"
                    raise ValueError(f"{minimum} ({low[resource]}) is above {maximum} ({high[resource]})")
        for resource, ratio in self.max_limit_request_ratio.items():
            if parse_quantity(ratio) < 1:
                raise ValueError(
                    f"maxLimitRequestRatio {resource} must be at least 1 (a limit is >= its request)"
                )
        return self


def _parsed(bounds: Bounds) -> tuple[tuple[str, Decimal, str], ...]:
    return tuple((resource, parse_quantity(text), str(text)) for resource, text in sorted(bounds.items()))


@check("resource-limits", params=Params, summary="cpu and memory requests and limits on every container")
def build(params: Params) -> CheckFn:
    required = (("requests", tuple(params.requests)), ("limits", tuple(params.limits)))
    imply = params.limits_imply_requests
    bounds = (
        ("requests", _parsed(params.min_requests), _parsed(params.max_requests)),
        ("limits", _parsed(params.min_limits), _parsed(params.max_limits)),
    )
    ratios = _parsed(params.max_limit_request_ratio)

    # One container's problems depend only on its requests and limits, which repeat across the
    # containers of a pod and across requests: judge each distinct pair once.
    @lru_cache(maxsize=4096)
    def judge(requests: Items, limits: Items, pod_level: PodLevel) -> tuple[Problem, ...]:
        return tuple(problems(dict(requests), dict(limits), pod_level))

    def problems(requests: dict[str, Any], limits: dict[str, Any], pod_level: PodLevel) -> Iterator[Problem]:
        given = {"requests": requests, "limits": limits}
        at_pod_level = {"requests": pod_level[0], "limits": pod_level[1]}
        values: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
        for kind in ("requests", "limits"):
            for resource, raw in given[kind].items():
                if raw is None:
                    continue
                try:
                    values[kind][resource] = parse_quantity(raw)
                except QuantityError:
                    yield (f"resources.{kind}.{resource}", raw, f"has an invalid {kind}.{resource} {raw!r}",
                           "write a Kubernetes quantity such as 500m, 2 or 512Mi")  # fmt: skip
        if imply:
            for resource, limit in values["limits"].items():
                values["requests"].setdefault(resource, limit)
        for kind, resources_needed in required:
            for resource in resources_needed:
                if (
                    resource not in values[kind]
                    and given[kind].get(resource) is None
                    and resource not in at_pod_level[kind]
                ):
                    yield (f"resources.{kind}.{resource}", None, f"must set a {resource} {_NOUN[kind]}",
                           f"set resources.{kind}.{resource}")  # fmt: skip
        for kind, minimum, maximum in bounds:
            for resource, bound, text in minimum:
                low = values[kind].get(resource)
                if low is not None and low < bound:
                    raw = _raw(given, kind, resource)
                    yield (f"resources.{kind}.{resource}", raw,
                           f"asks for {kind}.{resource} {raw}, below the minimum {text}",
                           f"set resources.{kind}.{resource} to at least {text}")  # fmt: skip
            for resource, bound, text in maximum:
                high = values[kind].get(resource)
                if high is not None and high > bound:
                    raw = _raw(given, kind, resource)
                    yield (f"resources.{kind}.{resource}", raw,
                           f"asks for {kind}.{resource} {raw}, above the maximum {text}",
                           f"set resources.{kind}.{resource} to at most {text}")  # fmt: skip
        for resource, ratio, text in ratios:
            if _ratio_exceeded(values["limits"].get(resource), values["requests"].get(resource), ratio):
                yield (f"resources.limits.{resource}", _raw(given, "limits", resource),
                       f"has a {resource} limit more than {text} times its request",
                       f"raise requests.{resource} or lower limits.{resource}")  # fmt: skip

    def run(pod: PodView) -> Iterator[Finding]:
        pod_level = _pod_level(pod, imply)
        for c in pod.containers:
            if c.field == "ephemeralContainers":
                continue
            resources = c.spec.get("resources") or {}
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            found = judge(tuple(requests.items()), tuple(limits.items()), pod_level)
            for field, value, problem, fix in found:
                yield Finding(f"{c.path}.{field}", value, f"{c.label} {problem}", fix, image=c.image)

    return run


def _pod_level(pod: PodView, imply: bool) -> PodLevel:
    """The resources set for the pod as a whole (`spec.resources`, pod-level resources)."""
    resources = pod.spec.get("resources")
    if not resources:
        return _NONE
    limits = frozenset(k for k, v in (resources.get("limits") or {}).items() if v is not None)
    requests = frozenset(k for k, v in (resources.get("requests") or {}).items() if v is not None)
    return (requests | limits if imply else requests), limits


_NONE: PodLevel = (frozenset(), frozenset())
_NOUN = {"requests": "request", "limits": "limit"}


def _ratio_exceeded(limit: Decimal | None, request: Decimal | None, ratio: Decimal) -> bool:
    if limit is None or request is None:
        return False
    # Exact rational arithmetic: Decimal division rounds at 28 digits (4/3 would equal a ratio of
    # 1.333333333333333333333333333), and the exported CEL compares exactly.
    return Fraction(limit) / Fraction(request) > Fraction(ratio) if request else limit > 0


def _raw(given: Mapping[str, Mapping[str, Any]], kind: str, resource: str) -> Any:
    """The value as written (a request implied by its limit shows the limit)."""
    raw = given[kind].get(resource)
    return given["limits"].get(resource) if raw is None else raw
