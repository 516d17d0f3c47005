"""pss-run-as-non-root: containers must run as a non-root user (restricted).

A container's runAsNonRoot overrides the pod's; a container that leaves it unset inherits the pod's.
An explicit false is refused wherever it is written, even on the pod when every container says true.
Pods in their own user namespace (`spec.hostUsers: false`) are exempt since v1.35.

Restricted fields:
  spec.securityContext.runAsNonRoot
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot
Allowed values:
  true; a container may leave it undefined/null when the pod sets true
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import context_finding, in_user_namespace, security_context


class Params(CheckParams):
    pass


FIELD = ("runAsNonRoot",)
FIX_ON = "set securityContext.runAsNonRoot to true on"


@check("pss-run-as-non-root", params=Params, summary="runAsNonRoot is true (PSS restricted)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if in_user_namespace(pod):
            return
        pod_non_root = security_context(pod.spec).get("runAsNonRoot")
        if pod_non_root is False:
            yield context_finding(
                pod,
                FIELD,
                False,
                "must not set runAsNonRoot to false",
                "set securityContext.runAsNonRoot to true",
            )
        for c in pod.containers:
            non_root = security_context(c.spec).get("runAsNonRoot")
            if non_root is False:
                yield context_finding(
                    c, FIELD, False, "must not set runAsNonRoot to false", f"{FIX_ON} the container"
                )
            elif non_root is None and pod_non_root is not True:
                problem = "must run as a non-root user (runAsNonRoot is not set)"
                yield context_finding(c, FIELD, None, problem, f"{FIX_ON} the pod or the container")

    return run
