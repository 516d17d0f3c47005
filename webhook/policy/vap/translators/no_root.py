"""no-root in CEL: the same three conditions as checks/no_root.py."""

from __future__ import annotations

from ...checks.no_root import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, present


@translator("no-root")
def translate(params: Params) -> Translation:
    pod_user = f"{POD}.securityContext.runAsUser"
    pod_non_root = f"{POD}.securityContext.runAsNonRoot"
    own_non_root = "c.securityContext.runAsNonRoot"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"!({present(pod_user)} && {pod_user} == 0)",
                "message": "the pod must not run as user 0 (root):"
                " set securityContext.runAsUser to a non-zero UID",
            },
            {
                "expression": "variables.allContainers.all(c, "
                f"!({present('c.securityContext.runAsUser')} && c.securityContext.runAsUser == 0))",
                "message": "containers must not run as user 0 (root):"
                " set securityContext.runAsUser to a non-zero UID",
            },
            {
                # The container's own setting wins; otherwise the pod's; only `true` passes.
                "expression": "variables.allContainers.all(c, "
                f"({present(own_non_root)}) ? {own_non_root} == true"
                f" : ({present(pod_non_root)} && {pod_non_root} == true))",
                "message": "containers must run as a non-root user: set securityContext.runAsNonRoot to true",
            },
        ],
    )
