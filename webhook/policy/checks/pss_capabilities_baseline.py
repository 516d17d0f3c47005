"""pss-capabilities-baseline: adding capabilities beyond the runtime's default set is forbidden (baseline).

Names are compared exactly, as the reference does: `net_admin` is not `NET_ADMIN`, and neither is allowed.
The restricted profile replaces this check with `pss-capabilities-restricted`.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
Allowed values:
  undefined/null, empty, or any of AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD,
  NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import added_capability_findings

ALLOWED: Final = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
     "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
FIX: Final = f"remove it from securityContext.capabilities.add (allowed: {', '.join(sorted(ALLOWED))})"


class Params(CheckParams):
    pass


@check(
    "pss-capabilities-baseline",
    params=Params,
    summary="only default capabilities may be added (PSS baseline)",
)
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            yield from added_capability_findings(c, ALLOWED, FIX)

    return run
