"""pss-run-as-user in CEL: no runAsUser 0 on the pod or any container, unless the pod runs in its own
user namespace (`hostUsers: false`) (checks/pss_run_as_user.py)."""

from __future__ import annotations

from ...checks.pss_run_as_user import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, field_is, unless_own_user_namespace


@translator("pss-run-as-user")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=unless_own_user_namespace(
            pod=f"!{field_is(f'{POD}.securityContext.runAsUser', '0')}",
            pod_message="the pod must not run as UID 0: set securityContext.runAsUser to a non-zero UID",
            containers=f"!{field_is('c.securityContext.runAsUser', '0')}",
            containers_message="containers must not run as UID 0:"
            " set securityContext.runAsUser to a non-zero UID",
        ),
    )
