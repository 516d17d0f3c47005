"""The procMount validation shared by the baseline and restricted translations (_pss.proc_mount_findings)."""

from __future__ import annotations

from typing import Any

from ._cel import present

PROC_MOUNT = "c.securityContext.procMount"


def proc_mount_masked(guard: str = "") -> dict[str, Any]:
    """Every container's procMount is unset, null or Default; `guard` (CEL) exempts the pod when true."""
    test = f"variables.allContainers.all(c, !({present(PROC_MOUNT)} && {PROC_MOUNT} != 'Default'))"
    return {
        "expression": f"({guard}) || {test}" if guard else test,
        "message": "containers must not unmask /proc: remove securityContext.procMount or set it to Default",
    }
