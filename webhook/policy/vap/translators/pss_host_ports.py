"""pss-host-ports in CEL: hostPort unset, null or 0 on every port (checks/pss_host_ports.py)."""

from __future__ import annotations

from ...checks._pss import HOST_PORT_FIX
from ...checks.pss_host_ports import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, list_at, present


@translator("pss-host-ports")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": "variables.allContainers.all(c, "
                f"{list_at('c.ports')}.all(p, !({present('p.hostPort')} && p.hostPort != 0)))",
                "message": f"containers must not bind host ports: {HOST_PORT_FIX}",
            }
        ],
    )
