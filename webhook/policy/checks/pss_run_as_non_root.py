"""pss-run-as-non-root: containers must run as a non-root user (restricted).

A container's runAsNonRoot overrides the pod's; a container that leaves it unset inherits the pod's.
An explicit false is refused wherever it is written, even on the pod when every container says true.
Pods in their own user namespace (`spec.hostUsers: false`) are exempt since v1.35.

Restricted fields:
  spec.securityContext.runAsNonRoot
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot
Allowed values:
  true; a container may leave it undefined/null when the pod sets true
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import container_context_path, in_user_namespace, pod_context_path, pod_label, security_context


class Params(CheckParams):
    pass


@check("pss-run-as-non-root", params=Params, summary="runAsNonRoot is true (PSS restricted)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if in_user_namespace(pod):
            return
        pod_non_root = security_context(pod.spec).get("runAsNonRoot")
        if pod_non_root is False:
            yield Finding(
                path=pod_context_path(pod, "runAsNonRoot"),
                value=False,
                problem=f"{pod_label(pod)} must not set runAsNonRoot to false",
                fix="set securityContext.runAsNonRoot to true",
            )
        for c in pod.containers:
            non_root = security_context(c.spec).get("runAsNonRoot")
            if non_root is False:
                yield Finding(
                    path=container_context_path(c, "runAsNonRoot"),
                    value=False,
                    problem=f"{c.label} must not set runAsNonRoot to false",
                    fix="set securityContext.runAsNonRoot to true on the container",
                    image=c.image,
                )
            elif non_root is None and pod_non_root is not True:
                yield Finding(
                    path=container_context_path(c, "runAsNonRoot"),
                    value=None,
                    problem=f"{c.label} must run as a non-root user (runAsNonRoot is not set)",
                    fix="set securityContext.runAsNonRoot to true on the pod or the container",
                    image=c.image,
                )

    return run
