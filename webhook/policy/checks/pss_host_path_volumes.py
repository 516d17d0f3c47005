"""pss-host-path-volumes: hostPath volumes are forbidden (baseline).

The restricted profile replaces this check with `pss-volume-types`, which forbids hostPath too.

Restricted fields:
  spec.volumes[*].hostPath
Allowed values:
  undefined/null
"""

from __future__ import annotations

from collections.abc import Iterator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding


class Params(CheckParams):
    pass


@check("pss-host-path-volumes", params=Params, summary="no hostPath volumes (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for index, volume in enumerate(pod.spec.get("volumes") or ()):
            host_path = volume.get("hostPath")
            if host_path is not None:
                yield Finding(
                    path=f"{pod.spec_path}.volumes[{index}].hostPath",
                    value=host_path.get("path"),
                    problem=f'volume "{volume.get("name") or ""}" ({pod.spec_path}.volumes[{index}]) must not'
                    " mount a path of the node (hostPath)",
                    fix="use an emptyDir, configMap, secret, projected or persistentVolumeClaim volume",
                )

    return run
