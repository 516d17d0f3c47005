"""pss-host-namespaces: sharing the node's network, PID or IPC namespace is forbidden (baseline).

Restricted fields:
  spec.hostNetwork, spec.hostPID, spec.hostIPC
Allowed values:
  false, undefined/null
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import pod_label

NAMESPACES = (("hostNetwork", "network"), ("hostPID", "process (PID)"), ("hostIPC", "IPC"))


class Params(CheckParams):
    pass


@check("pss-host-namespaces", params=Params, summary="no host network, PID or IPC namespace (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for field, namespace in NAMESPACES:
            if pod.spec.get(field) is True:
                yield Finding(
                    path=f"{pod.spec_path}.{field}",
                    value=True,
                    problem=f"{pod_label(pod)} must not share the node's {namespace} namespace",
                    fix=f"remove {field} or set it to false",
                )

    return run
