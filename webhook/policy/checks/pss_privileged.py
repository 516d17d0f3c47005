"""pss-privileged: privileged containers are forbidden (baseline).

Privileged containers disable most security mechanisms.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged
Allowed values:
  false, undefined/null
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import container_context_path, security_context


class Params(CheckParams):
    pass


@check("pss-privileged", params=Params, summary="no privileged containers (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            if security_context(c.spec).get("privileged") is True:
                yield Finding(
                    path=container_context_path(c, "privileged"),
                    value=True,
                    problem=f"{c.label} must not run privileged",
                    fix="set securityContext.privileged to false",
                    image=c.image,
                )

    return run
