"""pss-privilege-escalation in CEL: allowPrivilegeEscalation is false on every container of a
non-Windows pod (checks/pss_privilege_escalation.py)."""

from __future__ import annotations

from ...checks.pss_privilege_escalation import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, field_is


@translator("pss-privilege-escalation")
def translate(params: Params) -> Translation:
    windows = field_is(f"{POD}.os.name", "'windows'")
    escalation = field_is("c.securityContext.allowPrivilegeEscalation", "false")
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"{windows} || variables.allContainers.all(c, {escalation})",
                "message": "containers must not allow privilege escalation:"
                " set securityContext.allowPrivilegeEscalation to false (unset means allowed)",
            }
        ],
    )
