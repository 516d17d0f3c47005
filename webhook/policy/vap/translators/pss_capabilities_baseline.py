"""pss-capabilities-baseline in CEL: capabilities.add only names the runtime's defaults, compared
exactly (checks/pss_capabilities_baseline.py)."""

from __future__ import annotations

import json

from ...checks.pss_capabilities_baseline import ALLOWED, Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, list_at


@translator("pss-capabilities-baseline")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": "variables.allContainers.all(c, "
                f"{list_at('c.securityContext.capabilities.add')}"
                f".all(x, x in {json.dumps(sorted(ALLOWED))}))",
                "message": f"containers may add only default capabilities: {', '.join(sorted(ALLOWED))}",
            }
        ],
    )
