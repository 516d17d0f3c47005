"""pss-privilege-escalation: containers must set allowPrivilegeEscalation: false (restricted).

Windows pods (`spec.os.name: windows`) are exempt since v1.25: the field has no meaning there.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation
Allowed values:
  false (undefined/null is not allowed: it defaults to true)
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import container_context_path, is_windows, security_context


class Params(CheckParams):
    pass


@check(
    "pss-privilege-escalation", params=Params, summary="allowPrivilegeEscalation is false (PSS restricted)"
)
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if is_windows(pod):
            return
        for c in pod.containers:
            allowed = security_context(c.spec).get("allowPrivilegeEscalation")
            if allowed is not False:
                yield Finding(
                    path=container_context_path(c, "allowPrivilegeEscalation"),
                    value=allowed,
                    problem=f"{c.label} must not allow privilege escalation"
                    + ("" if allowed else " (unset means allowed)"),
                    fix="set securityContext.allowPrivilegeEscalation to false",
                    image=c.image,
                )

    return run
