"""pss-seccomp-restricted in CEL: every container runs under RuntimeDefault or Localhost, its own or
the pod's, and no profile sets another type; Windows pods are exempt (checks/pss_seccomp_restricted.py)."""

from __future__ import annotations

from ...checks.pss_seccomp_restricted import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, field_is, present
from ._seccomp import OWN_PROFILE, POD_PROFILE, confined, explicit_types_allowed


@translator("pss-seccomp-restricted")
def translate(params: Params) -> Translation:
    windows = field_is(f"{POD}.os.name", "'windows'")
    pod_confined = f"({present(POD_PROFILE)} && {confined(POD_PROFILE)})"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            *explicit_types_allowed(windows),
            {
                "expression": f"{windows} || {pod_confined} || "
                f"variables.allContainers.all(c, {present(OWN_PROFILE)})",
                "message": "containers must set seccompProfile.type to RuntimeDefault or Localhost"
                " (on the pod or the container)",
            },
        ],
    )
