"""pss-run-as-non-root in CEL (checks/pss_run_as_non_root.py): runAsNonRoot is never false, and every
container has it true, its own or inherited from the pod; pods with `hostUsers: false` are exempt."""

from __future__ import annotations

from ...checks.pss_run_as_non_root import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, field_is, present, unless_own_user_namespace


@translator("pss-run-as-non-root")
def translate(params: Params) -> Translation:
    pod_setting = f"{POD}.securityContext.runAsNonRoot"
    own = "c.securityContext.runAsNonRoot"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=unless_own_user_namespace(
            pod=f"!{field_is(pod_setting, 'false')}",
            pod_message="the pod must not set securityContext.runAsNonRoot to false",
            containers=f"({present(own)}) ? !({own} == false) : {field_is(pod_setting, 'true')}",
            containers_message="containers must run as non-root: set securityContext.runAsNonRoot to true"
            " (on the pod or the container)",
        ),
    )
