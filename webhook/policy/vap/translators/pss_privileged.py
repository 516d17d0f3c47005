"""pss-privileged in CEL: no container of any kind is privileged (checks/pss_privileged.py)."""

from __future__ import annotations

from ...checks.pss_privileged import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, present


@translator("pss-privileged")
def translate(params: Params) -> Translation:
    privileged = "c.securityContext.privileged"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": "variables.allContainers.all(c, "
                f"!({present(privileged)} && {privileged} == true))",
                "message": "containers must not run privileged: set securityContext.privileged to false",
            }
        ],
    )
