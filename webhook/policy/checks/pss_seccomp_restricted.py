"""pss-seccomp-restricted: every container must run under RuntimeDefault or Localhost seccomp (restricted).

A container's seccompProfile overrides the pod's; a container that leaves it unset inherits the pod's.
A forbidden type is refused wherever it is written. Replaces `pss-seccomp-baseline` in the restricted
profile; Windows pods (`spec.os.name: windows`) are exempt since v1.25.

Restricted fields:
  spec.securityContext.seccompProfile.type
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
Allowed values:
  RuntimeDefault, Localhost; a container may leave it undefined/null when the pod sets an allowed type
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import SECCOMP_FIX, container_context_path, is_windows, seccomp_type_findings, security_context


class Params(CheckParams):
    pass


@check(
    "pss-seccomp-restricted", params=Params, summary="seccomp is RuntimeDefault or Localhost (PSS restricted)"
)
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if is_windows(pod):
            return
        findings, pod_confined = seccomp_type_findings(pod)
        yield from findings
        if pod_confined:
            return
        for c in pod.containers:
            if security_context(c.spec).get("seccompProfile") is None:
                yield Finding(
                    path=container_context_path(c, "seccompProfile", "type"),
                    value=None,
                    problem=f"{c.label} must run under a seccomp profile (none is set)",
                    fix=SECCOMP_FIX + " on the pod or the container",
                    image=c.image,
                )

    return run
