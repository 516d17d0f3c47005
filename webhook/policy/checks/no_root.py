"""no-root: containers must not run as root.

Restricted fields:
  spec.securityContext.runAsNonRoot, spec.securityContext.runAsUser
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser
Allowed values:
  runAsNonRoot: true for every container, set on the container or inherited from the pod
  (the container's setting overrides the pod's; a container's explicit `false` is a violation even
  when the pod says true). runAsUser: anything but 0, wherever it is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding


class Params(CheckParams):
    pass


def security_context(node: Any) -> Any:
    """`node.securityContext` as a mapping ({} when unset or null)."""
    return node.get("securityContext") or {}


@check("no-root", params=Params, summary="containers must run as a non-root user")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        pod_sc = security_context(pod.spec)
        pod_non_root = pod_sc.get("runAsNonRoot")
        if pod_sc.get("runAsUser") == 0:
            yield Finding(
                path=f"{pod.spec_path}.securityContext.runAsUser",
                value=0,
                problem=f"the pod ({pod.spec_path}) must not run as user 0 (root)",
                fix="set securityContext.runAsUser to a non-zero UID, or remove it",
            )
        for c in pod.containers:
            sc = security_context(c.spec)
            if sc.get("runAsUser") == 0:
                yield Finding(
                    path=f"{c.path}.securityContext.runAsUser",
                    value=0,
                    problem=f"{c.label} must not run as user 0 (root)",
                    fix="set securityContext.runAsUser to a non-zero UID, or remove it",
                    image=c.image,
                )
            non_root = sc.get("runAsNonRoot")
            if non_root is None:
                non_root = pod_non_root
            if non_root is not True:
                explicit = sc.get("runAsNonRoot") is not None
                yield Finding(
                    path=f"{c.path if explicit else pod.spec_path}.securityContext.runAsNonRoot",
                    value=non_root,
                    problem=f"{c.label} must run as a non-root user",
                    fix=(
                        "set securityContext.runAsNonRoot to true on the container"
                        if explicit
                        else "set securityContext.runAsNonRoot to true on the pod or the container"
                    ),
                    image=c.image,
                )

    return run
