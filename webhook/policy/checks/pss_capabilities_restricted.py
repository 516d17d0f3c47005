"""pss-capabilities-restricted: drop ALL capabilities; add back NET_BIND_SERVICE at most (restricted).

Replaces `pss-capabilities-baseline` in the restricted profile. Names are compared exactly (`all` is not
`ALL`). Windows pods (`spec.os.name: windows`) are exempt since v1.25.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.drop
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
Allowed values:
  drop: any list that includes ALL
  add: undefined/null, empty, NET_BIND_SERVICE
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import added_capability_findings, container_context_path, is_windows, security_context


class Params(CheckParams):
    pass


@check(
    "pss-capabilities-restricted",
    params=Params,
    summary="drop ALL, add only NET_BIND_SERVICE (PSS restricted)",
)
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if is_windows(pod):
            return
        for c in pod.containers:
            capabilities = security_context(c.spec).get("capabilities") or {}
            drop = capabilities.get("drop")
            if not drop or "ALL" not in drop:
                yield Finding(
                    path=container_context_path(c, "capabilities", "drop"),
                    value=drop,
                    problem=f'{c.label} must drop all capabilities ("ALL" is not in capabilities.drop)',
                    fix='set securityContext.capabilities.drop to ["ALL"]',
                    image=c.image,
                )
            yield from added_capability_findings(
                c,
                ("NET_BIND_SERVICE",),
                "remove it from capabilities.add (only NET_BIND_SERVICE may be added)",
            )

    return run
