"""pss-host-probes: probes and lifecycle hooks must not name a host (baseline, since v1.34).

A `host` lets the kubelet, which runs on the node, send requests to any address it can reach.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].{livenessProbe,readinessProbe,startupProbe}
    .{httpGet,tcpSocket}.host
  spec.{initContainers,containers,ephemeralContainers}[*].lifecycle.{postStart,preStop}
    .{httpGet,tcpSocket}.host   (tcpSocket is deprecated in hooks, but still checked)
Allowed values:
  undefined/null, ""
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..podspec import ContainerView, PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")
HANDLERS = ("httpGet", "tcpSocket")


class Params(CheckParams):
    pass


def _hosts(c: ContainerView, handler: Mapping[str, Any], path: str) -> Iterator[Finding]:
    for kind in HANDLERS:
        host = (handler.get(kind) or {}).get("host")
        if host:
            yield Finding(
                path=f"{c.path}.{path}.{kind}.host",
                value=host,
                problem=f'{c.label} must not send its {path} {kind} to host "{host}"',
                fix=f"remove {path}.{kind}.host (it then targets the pod's own IP)",
                image=c.image,
            )


def _names_host(handler: Mapping[str, Any]) -> bool:
    """The cheap test first: this runs for every probe of every container."""
    http, tcp = handler.get("httpGet"), handler.get("tcpSocket")
    return bool((http and http.get("host")) or (tcp and tcp.get("host")))


@check("pss-host-probes", params=Params, summary="no host in probes or lifecycle hooks (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            spec = c.spec
            for probe in PROBES:
                handler = spec.get(probe)
                if handler and _names_host(handler):
                    yield from _hosts(c, handler, probe)
            lifecycle = spec.get("lifecycle")
            if lifecycle:
                for hook in HOOKS:
                    handler = lifecycle.get(hook)
                    if handler and _names_host(handler):
                        yield from _hosts(c, handler, f"lifecycle.{hook}")

    return run
