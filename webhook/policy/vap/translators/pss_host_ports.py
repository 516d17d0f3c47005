"""pss-host-ports in CEL: hostPort unset, null or 0 on every port (checks/pss_host_ports.py)."""

from __future__ import annotations

from ...checks._pss import HOST_PORT_FIX
from ...checks.pss_host_ports import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, every_item, present


@translator("pss-host-ports")
def translate(params: Params) -> Translation:
    no_host_port = f"!({present('p.hostPort')} && p.hostPort != 0)"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"variables.allContainers.all(c, {every_item('c.ports', 'p', no_host_port)})",
                "message": f"containers must not bind host ports: {HOST_PORT_FIX}",
            }
        ],
    )
