"""pss-sysctls in CEL: only the safe sysctls, by exact name (checks/pss_sysctls.py)."""

from __future__ import annotations

import json

from ...checks.pss_sysctls import ALLOWED, Params
from . import Translation, translator
from ._cel import POD, every_item, present


@translator("pss-sysctls")
def translate(params: Params) -> Translation:
    return Translation(
        validations=[
            {
                "expression": every_item(
                    f"{POD}.securityContext.sysctls",
                    "s",
                    f"{present('s.name')} && s.name in {json.dumps(sorted(ALLOWED))}",
                ),
                "message": f"only safe sysctls may be set: {', '.join(sorted(ALLOWED))}",
            }
        ],
    )
