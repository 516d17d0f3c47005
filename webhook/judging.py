"""What a loaded policy set can judge, worked out once per load, so the request path stays short.

CONNECT, DELETE and evictions carry no pod spec: only policies with access rules (holds, exec
control) say anything about them. A request that no policy of the set could judge is answered at once,
without the held-pod cache or the engine (`pass_through` says why); everything else goes to `evaluate`.
The answer depends on the set, never on a fixed list: load `forensic-hold` and DELETEs are judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from .policy import PolicySet, Request
from .policy.access import ACTIONS
from .policy.engine import JUDGED_SUBRESOURCES
from .policy.sessions import NAMED_ONLY_OPERATIONS, judged_alone, matched_operation


@dataclass(frozen=True, slots=True)
class Judged:
    """What one policy set judges beyond the pod specs of CREATE and UPDATE, and how it fails."""

    access_operations: frozenset[str]  # operations matched by some policy with access rules
    # The denying policies with failurePolicy Fail: a request the engine could not judge is denied
    # in their name (and let through when there are none).
    fail_closed: tuple[str, ...]

    @classmethod
    def of(cls, policies: PolicySet) -> Judged:
        return cls(
            access_operations=frozenset(op for policy in policies.guarding for op in policy.match.operations),
            fail_closed=tuple(p.name for p in policies if p.denies and p.failure_policy == "Fail"),
        )

    @property
    def needs_held_pods(self) -> bool:
        """Some policy judges exec/attach/port-forward or evictions, whose pod only the cache knows."""
        return bool(self.access_operations & NAMED_ONLY_OPERATIONS)

    def pass_through(self, request: Request) -> str:
        """Why no policy of the set could judge `request` ("" when the engine must judge it)."""
        operation, subresource = request.operation, request.subresource
        where = f" on {subresource!r}" if subresource else ""
        if judged_alone(request):
            as_matched = matched_operation(operation, subresource)
            if (operation, subresource) not in ACTIONS or as_matched not in self.access_operations:
                return f"operation {operation}{where} is not judged by any policy"
            return ""
        if subresource not in JUDGED_SUBRESOURCES and (operation, subresource) not in ACTIONS:
            return f"subresource {subresource!r} is not judged"
        return ""
