"""pss-run-as-user in CEL: no runAsUser 0 on the pod or any container, unless the pod runs in its own
user namespace (`hostUsers: false`) (checks/pss_run_as_user.py)."""

from __future__ import annotations

from ...checks.pss_run_as_user import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, OWN_USER_NAMESPACE, POD, field_is


@translator("pss-run-as-user")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"{OWN_USER_NAMESPACE} || !{field_is(f'{POD}.securityContext.runAsUser', '0')}",
                "message": "the pod must not run as UID 0: set securityContext.runAsUser to a non-zero UID",
            },
            {
                "expression": f"{OWN_USER_NAMESPACE} || variables.allContainers.all(c, "
                f"!{field_is('c.securityContext.runAsUser', '0')})",
                "message": "containers must not run as UID 0:"
                " set securityContext.runAsUser to a non-zero UID",
            },
        ],
    )
