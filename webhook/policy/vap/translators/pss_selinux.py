"""pss-selinux in CEL: seLinuxOptions type empty or a container type, user and role empty
(checks/pss_selinux.py)."""

from __future__ import annotations

import json

from ...checks.pss_selinux import ALLOWED_TYPES, Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, non_empty


def _allowed(options: str) -> str:
    type_ = f"{options}.type"
    return (
        f"!({non_empty(type_)} && !({type_} in {json.dumps(sorted(ALLOWED_TYPES))}))"
        f" && !{non_empty(f'{options}.user')} && !{non_empty(f'{options}.role')}"
    )


@translator("pss-selinux")
def translate(params: Params) -> Translation:
    message = (
        f"SELinux options may set only the types {', '.join(sorted(ALLOWED_TYPES))}, and no user or role"
    )
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": _allowed(f"{POD}.securityContext.seLinuxOptions"),
                "message": f"the pod: {message}",
            },
            {
                "expression": "variables.allContainers.all(c, "
                f"{_allowed('c.securityContext.seLinuxOptions')})",
                "message": f"containers: {message}",
            },
        ],
    )
