"""default-resources: fill in the cpu/memory requests and limits a container leaves unset.

Only absent values are set, on init and app containers (ephemeral containers cannot carry
resources). The result is always a valid pod: a request is never set above the container's limit
(a missing request whose limit is set becomes that limit, which is what the API server would make
it), and a limit is never set below the container's request (it becomes the request). A resource
the pod sets as a whole (pod-level `spec.resources`) is not defaulted on its containers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from ..checks.resource_limits import Resource, non_negative_quantity
from ..podspec import PodView, ensure_mapping
from ..quantity import QuantityError, parse_quantity
from ..registry import CheckParams, Mutator, mutator

FIELDS = ("initContainers", "containers")
DefaultQuantity = Annotated[str, AfterValidator(non_negative_quantity)]  # written into pods as given


class Params(CheckParams):
    requests: dict[Resource, DefaultQuantity] = Field(default_factory=dict)
    limits: dict[Resource, DefaultQuantity] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something_and_consistent(self) -> Params:
        if not self.requests and not self.limits:
            raise ValueError("give at least one default in `requests` or `limits`")
        for resource in sorted(self.requests.keys() & self.limits.keys()):
            if parse_quantity(self.requests[resource]) > parse_quantity(self.limits[resource]):
                raise ValueError(f"the default request for {resource} is above its default limit")
        return self


@mutator("default-resources", params=Params, summary="fill in missing cpu/memory requests and limits")
def build(params: Params) -> Mutator:
    default_requests = tuple(sorted(params.requests.items()))
    default_limits = tuple((r, parse_quantity(t), t) for r, t in sorted(params.limits.items()))

    def apply(pod: PodView) -> None:
        # Pod-level resources are shared by the containers, and the API server requires them to cover
        # the containers' own: a default added to a container could break that, so leave them alone.
        pod_level = pod.spec.get("resources") or {}
        shared = {*(pod_level.get("requests") or {}), *(pod_level.get("limits") or {})}
        for c in pod.containers:
            if c.field == "ephemeralContainers":
                continue
            resources = c.spec.get("resources") or {}
            requests = dict(resources.get("requests") or {})
            limits = dict(resources.get("limits") or {})
            new_requests: dict[str, Any] = {}
            new_limits: dict[str, Any] = {}
            for resource, text in default_requests:
                if requests.get(resource) is None and resource not in shared:
                    limit = limits.get(resource)
                    # Absent request with a limit: the API server makes it the limit; so do we, explicitly.
                    new_requests[resource] = limit if limit is not None else text
            for resource, value, text in default_limits:
                if limits.get(resource) is None and resource not in shared:
                    request = requests.get(resource, new_requests.get(resource))
                    new_limits[resource] = request if _above(request, value) else text
            if new_requests or new_limits:
                target = ensure_mapping(c.spec, "resources")
                if new_requests:
                    ensure_mapping(target, "requests").update(new_requests)
                if new_limits:
                    ensure_mapping(target, "limits").update(new_limits)

    targets = frozenset(
        f"{field}[*].resources.{kind}.{resource}"
        for field in FIELDS
        for kind, values in (("requests", params.requests), ("limits", params.limits))
        for resource in values
    )
    return Mutator(apply=apply, targets=targets)


def _above(request: Any, limit: Decimal) -> bool:
    """The container's request is above the default limit (an unreadable request: leave the limit)."""
    if request is None:
        return False
    try:
        return parse_quantity(request) > limit
    except QuantityError:
        return False
