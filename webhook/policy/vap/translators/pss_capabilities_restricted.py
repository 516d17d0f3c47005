"""pss-capabilities-restricted in CEL: capabilities.drop includes ALL and capabilities.add names
NET_BIND_SERVICE at most, compared exactly; Windows pods are exempt
(checks/pss_capabilities_restricted.py)."""

from __future__ import annotations

from ...checks.pss_capabilities_restricted import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, every_item, field_is, list_at

CAPABILITIES = "c.securityContext.capabilities"
NET_BIND_SERVICE_ONLY = "x == 'NET_BIND_SERVICE'"


@translator("pss-capabilities-restricted")
def translate(params: Params) -> Translation:
    windows = field_is(f"{POD}.os.name", "'windows'")
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"{windows} || variables.allContainers.all(c, "
                f"'ALL' in {list_at(f'{CAPABILITIES}.drop')})",
                "message": "containers must drop ALL capabilities:"
                " add ALL to securityContext.capabilities.drop",
            },
            {
                "expression": f"{windows} || variables.allContainers.all(c, "
                f"{every_item(f'{CAPABILITIES}.add', 'x', NET_BIND_SERVICE_ONLY)})",
                "message": "containers may add only NET_BIND_SERVICE to securityContext.capabilities.add",
            },
        ],
    )
