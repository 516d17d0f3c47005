"""pss-host-process in CEL: no Windows HostProcess pod or container (checks/pss_host_process.py)."""

from __future__ import annotations

from ...checks.pss_host_process import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, field_is

HOST_PROCESS = "securityContext.windowsOptions.hostProcess"


@translator("pss-host-process")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"!{field_is(f'{POD}.{HOST_PROCESS}', 'true')}",
                "message": f"the pod must not run as a Windows HostProcess pod: remove {HOST_PROCESS}",
            },
            {
                "expression": f"variables.allContainers.all(c, !{field_is(f'c.{HOST_PROCESS}', 'true')})",
                "message": "containers must not run as Windows HostProcess containers:"
                f" remove {HOST_PROCESS}",
            },
        ],
    )
