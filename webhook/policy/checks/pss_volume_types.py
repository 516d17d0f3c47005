"""pss-volume-types: only core volume types, and those defined through PersistentVolumes (restricted).

Replaces `pss-host-path-volumes` in the restricted profile (hostPath is not in the list). A volume passes
when it sets one of the allowed sources; `image` volumes are allowed since v1.33.

Restricted fields:
  spec.volumes[*]
Allowed values:
  every volume sets one of: configMap, csi, downwardAPI, emptyDir, ephemeral, image,
  persistentVolumeClaim, projected, secret
  (forbidden, among others: hostPath, nfs, iscsi, gitRepo, rbd, cephfs, awsElasticBlockStore, ...)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding

ALLOWED: Final = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
)  # fmt: skip
ALLOWED_SET: Final = frozenset(ALLOWED)


class Params(CheckParams):
    pass


@check("pss-volume-types", params=Params, summary="only core volume types (PSS restricted)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for index, volume in enumerate(pod.spec.get("volumes") or ()):
            for key in volume:  # usually two keys: the name and one source
                if key in ALLOWED_SET and volume[key] is not None:
                    break
            else:
                yield _finding(pod, index, volume)

    return run


def _finding(pod: PodView, index: int, volume: Mapping[str, Any]) -> Finding:
    sources = [key for key, value in volume.items() if key != "name" and value is not None]
    path = f"{pod.spec_path}.volumes[{index}]"
    source = sources[0] if sources else None
    return Finding(
        path=f"{path}.{source}" if source else path,
        value=source,
        problem=f'volume "{volume.get("name") or ""}" ({path}) must not use volume type '
        + (f'"{source}"' if source else "(none given)"),
        fix="use one of " + ", ".join(ALLOWED) + " (a PersistentVolumeClaim reaches any storage)",
    )
