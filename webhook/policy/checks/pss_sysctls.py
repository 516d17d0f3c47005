"""pss-sysctls: only the namespaced, isolated ("safe") sysctls may be set (baseline).

The allowed list is the reference's newest (v1.37); names are compared exactly.

Restricted fields:
  spec.securityContext.sysctls[*].name
Allowed values:
  undefined/null, empty, kernel.shm_rmid_forced, net.ipv4.ip_local_port_range,
  net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range,
  net.ipv4.ip_local_reserved_ports (v1.27+), net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout,
  net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes (v1.29+), net.ipv4.tcp_rmem,
  net.ipv4.tcp_wmem (v1.32+), net.ipv4.tcp_slow_start_after_idle, net.ipv4.tcp_notsent_lowat (v1.37+)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import pod_context_path, pod_label, security_context

ALLOWED: Final = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net.ipv4.tcp_slow_start_after_idle",
        "net.ipv4.tcp_notsent_lowat",
    }
)


class Params(CheckParams):
    pass


@check("pss-sysctls", params=Params, summary="only safe sysctls (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for index, sysctl in enumerate(security_context(pod.spec).get("sysctls") or ()):
            name = sysctl.get("name") or ""
            if name not in ALLOWED:
                yield Finding(
                    path=pod_context_path(pod, f"sysctls[{index}]", "name"),
                    value=name,
                    problem=f'{pod_label(pod)} must not set sysctl "{name}"',
                    fix="remove it; only these sysctls are safe: " + ", ".join(sorted(ALLOWED)),
                )

    return run
