"""pss-host-process: Windows HostProcess containers are forbidden (baseline).

HostProcess containers get privileged access to the Windows node.

Restricted fields:
  spec.securityContext.windowsOptions.hostProcess
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess
Allowed values:
  false, undefined/null
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import context_finding, security_context

FIX = "remove securityContext.windowsOptions.hostProcess or set it to false"


class Params(CheckParams):
    pass


def _host_process(node: Mapping[str, Any]) -> bool:
    options = security_context(node).get("windowsOptions")
    return options is not None and options.get("hostProcess") is True


@check("pss-host-process", params=Params, summary="no Windows HostProcess containers (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        fields = ("windowsOptions", "hostProcess")
        if _host_process(pod.spec):
            yield context_finding(pod, fields, True, "must not run as a Windows HostProcess pod", FIX)
        for c in pod.containers:
            if _host_process(c.spec):
                yield context_finding(c, fields, True, "must not run as a Windows HostProcess container", FIX)

    return run
