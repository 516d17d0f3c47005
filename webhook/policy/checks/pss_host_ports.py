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
from ._pss import host_port_findings


class Params(CheckParams):
    pass


@check("pss-host-ports", params=Params, summary="no host ports (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            yield from host_port_findings(c)

    return run
