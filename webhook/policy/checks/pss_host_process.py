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
from ._pss import container_context_path, pod_context_path, pod_label, security_context

FIX = "remove securityContext.windowsOptions.hostProcess or set it to false"


class Params(CheckParams):
    pass


def _host_process(node: Mapping[str, Any]) -> bool:
    options = security_context(node).get("windowsOptions")
    return options is not None and options.get("hostProcess") is True


@check("pss-host-process", params=Params, summary="no Windows HostProcess containers (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if _host_process(pod.spec):
            yield Finding(
                path=pod_context_path(pod, "windowsOptions", "hostProcess"),
                value=True,
                problem=f"{pod_label(pod)} must not run as a Windows HostProcess pod",
                fix=FIX,
            )
        for c in pod.containers:
            if _host_process(c.spec):
                yield Finding(
                    path=container_context_path(c, "windowsOptions", "hostProcess"),
                    value=True,
                    problem=f"{c.label} must not run as a Windows HostProcess container",
                    fix=FIX,
                    image=c.image,
                )

    return run
