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
from ._pss import context_finding, in_user_namespace, pod_and_containers, security_context

FIX = "set securityContext.runAsUser to a non-zero UID, or remove it"


class Params(CheckParams):
    pass


@check("pss-run-as-user", params=Params, summary="runAsUser is not 0 (PSS restricted)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if in_user_namespace(pod):
            return
        for where in pod_and_containers(pod):
            if security_context(where.spec).get("runAsUser") == 0:
                yield context_finding(where, ("runAsUser",), 0, "must not run as user 0 (root)", FIX)

    return run
