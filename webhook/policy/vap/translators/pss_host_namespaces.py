"""pss-host-namespaces in CEL: hostNetwork, hostPID and hostIPC unset or false
(checks/pss_host_namespaces.py)."""

from __future__ import annotations

from ...checks.pss_host_namespaces import NAMESPACES, Params
from . import Translation, translator
from ._cel import POD, present


@translator("pss-host-namespaces")
def translate(params: Params) -> Translation:
    return Translation(
        validations=[
            {
                "expression": f"!({present(f'{POD}.{field}')} && {POD}.{field} == true)",
                "message": f"the pod must not share the node's {namespace} namespace:"
                f" remove {field} or set it to false",
            }
            for field, namespace in NAMESPACES
        ],
    )
