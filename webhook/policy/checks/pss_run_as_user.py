"""pss-run-as-user: nothing may run as UID 0 (restricted, since v1.23).

Pods in their own user namespace (`spec.hostUsers: false`) are exempt since v1.35.

Restricted fields:
  spec.securityContext.runAsUser
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser
Allowed values:
  any non-zero value, undefined/null
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import container_context_path, in_user_namespace, pod_context_path, pod_label, security_context

FIX = "set securityContext.runAsUser to a non-zero UID, or remove it"


class Params(CheckParams):
    pass


@check("pss-run-as-user", params=Params, summary="runAsUser is not 0 (PSS restricted)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if in_user_namespace(pod):
            return
        if security_context(pod.spec).get("runAsUser") == 0:
            yield Finding(
                path=pod_context_path(pod, "runAsUser"),
                value=0,
                problem=f"{pod_label(pod)} must not run as user 0 (root)",
                fix=FIX,
            )
        for c in pod.containers:
            if security_context(c.spec).get("runAsUser") == 0:
                yield Finding(
                    path=container_context_path(c, "runAsUser"),
                    value=0,
                    problem=f"{c.label} must not run as user 0 (root)",
                    fix=FIX,
                    image=c.image,
                )

    return run
