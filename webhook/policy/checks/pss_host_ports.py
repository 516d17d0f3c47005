"""pss-host-ports: binding container ports to the node (hostPort) is forbidden (baseline).

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort
Allowed values:
  undefined/null, 0
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding


class Params(CheckParams):
    pass


@check("pss-host-ports", params=Params, summary="no host ports (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            for index, port in enumerate(c.spec.get("ports") or ()):
                host_port = port.get("hostPort")
                if host_port:  # None and 0 both mean "no host port"
                    yield Finding(
                        path=f"{c.path}.ports[{index}].hostPort",
                        value=host_port,
                        problem=f"{c.label} must not bind host port {host_port}",
                        fix="remove hostPort (expose the port through a Service instead)",
                        image=c.image,
                    )

    return run
