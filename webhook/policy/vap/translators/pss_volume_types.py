"""pss-volume-types in CEL: every volume sets one of the allowed sources (checks/pss_volume_types.py)."""

from __future__ import annotations

import json

from ...checks.pss_volume_types import ALLOWED, Params
from . import Translation, translator
from ._cel import POD, every_item


@translator("pss-volume-types")
def translate(params: Params) -> Translation:
    return Translation(
        validations=[
            {
                "expression": every_item(
                    f"{POD}.volumes", "v", f"v.exists(k, k in {json.dumps(list(ALLOWED))} && v[k] != null)"
                ),
                "message": f"volumes must be of an allowed type: {', '.join(ALLOWED)}",
            }
        ],
    )
