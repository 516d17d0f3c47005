"""pss-seccomp-baseline: seccomp must not be turned off (baseline).

The restricted profile replaces this check with `pss-seccomp-restricted`. The alpha seccomp annotations
are not checked: the reference stopped reading them at v1.19, and the API server ignores them.

Restricted fields:
  spec.securityContext.seccompProfile.type
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
Allowed values:
  undefined/null, RuntimeDefault, Localhost
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import seccomp_type_findings


class Params(CheckParams):
    pass


@check("pss-seccomp-baseline", params=Params, summary="seccomp is not Unconfined (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        findings, _ = seccomp_type_findings(pod)
        return iter(findings)

    return run
