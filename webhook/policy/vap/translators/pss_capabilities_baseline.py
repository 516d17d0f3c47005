"""pss-capabilities-baseline in CEL: capabilities.add only names the runtime's defaults, compared
exactly (checks/pss_capabilities_baseline.py)."""

from __future__ import annotations

import json

from ...checks.pss_capabilities_baseline import ALLOWED, Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, every_item


@translator("pss-capabilities-baseline")
def translate(params: Params) -> Translation:
    added, allowed = "c.securityContext.capabilities.add", f"x in {json.dumps(sorted(ALLOWED))}"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"variables.allContainers.all(c, {every_item(added, 'x', allowed)})",
                "message": f"containers may add only default capabilities: {', '.join(sorted(ALLOWED))}",
            }
        ],
    )
