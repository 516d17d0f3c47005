"""pss-proc-mount-baseline: the default /proc masks must stay in place (baseline).

Pods in their own user namespace (`spec.hostUsers: false`) are exempt since v1.35: an unmasked /proc
there does not expose the node. The restricted profile replaces this check with
`pss-proc-mount-restricted`, which has no such exemption.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values:
  undefined/null, Default (anything, when spec.hostUsers is false)
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import in_user_namespace, proc_mount_findings


class Params(CheckParams):
    pass


@check("pss-proc-mount-baseline", params=Params, summary="/proc stays masked (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if in_user_namespace(pod):
            return iter(())
        return proc_mount_findings(pod)

    return run
