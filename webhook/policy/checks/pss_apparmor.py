"""pss-apparmor: AppArmor must not be disabled; only local profiles may replace the default (baseline).

Both forms are checked, as the reference does: the securityContext field (GA since v1.31) and the
deprecated per-container annotation, which the API server still honours.

Restricted fields:
  spec.securityContext.appArmorProfile.type
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.appArmorProfile.type
  metadata.annotations['container.apparmor.security.beta.kubernetes.io/*']
Allowed values:
  field: undefined/null, RuntimeDefault, Localhost
  annotation: undefined, "", runtime/default, localhost/*
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import annotation_path, unconfined_profile_findings

ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
FIX = "set securityContext.appArmorProfile.type to RuntimeDefault or Localhost, or remove it"


class Params(CheckParams):
    pass


def _allowed_annotation(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


@check("pss-apparmor", params=Params, summary="AppArmor stays RuntimeDefault or Localhost (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        yield from unconfined_profile_findings(pod, "appArmorProfile", "AppArmor", FIX)
        for key, value in pod.annotations.items():
            if key.startswith(ANNOTATION_PREFIX) and not _allowed_annotation(value):
                yield Finding(
                    path=annotation_path(pod, key),
                    value=value,
                    problem=f'annotation {key}="{value}" must not disable or override AppArmor',
                    fix="set it to runtime/default or localhost/<profile>, or remove it",
                )

    return run
