"""pss-host-probes in CEL: no probe or lifecycle hook names a host (checks/pss_host_probes.py)."""

from __future__ import annotations

from ...checks.pss_host_probes import HANDLERS, HOOKS, PROBES, Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, non_empty


@translator("pss-host-probes")
def translate(params: Params) -> Translation:
    handlers = [f"c.{probe}" for probe in PROBES] + [f"c.lifecycle.{hook}" for hook in HOOKS]
    named = " || ".join(non_empty(f"{handler}.{kind}.host") for handler in handlers for kind in HANDLERS)
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"variables.allContainers.all(c, !({named}))",
                "message": "probes and lifecycle hooks must not set a host:"
                " remove httpGet.host and tcpSocket.host",
            }
        ],
    )
