"""pss-proc-mount-restricted: the default /proc masks must stay in place, in every pod (restricted).

Replaces `pss-proc-mount-baseline` in the restricted profile (v1.35+): user-namespace pods get no exemption.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values:
  undefined/null, Default
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import proc_mount_findings


class Params(CheckParams):
    pass


@check(
    "pss-proc-mount-restricted", params=Params, summary="/proc stays masked, no exemption (PSS restricted)"
)
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        return proc_mount_findings(pod)

    return run
