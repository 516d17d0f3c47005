"""pss-host-path-volumes in CEL: no volume sets hostPath (checks/pss_host_path_volumes.py)."""

from __future__ import annotations

from ...checks.pss_host_path_volumes import Params
from . import Translation, translator
from ._cel import NO_HOST_PATH_VOLUMES


@translator("pss-host-path-volumes")
def translate(params: Params) -> Translation:
    return Translation(
        validations=[
            {
                "expression": NO_HOST_PATH_VOLUMES,
                "message": "volumes must not mount a path of the node (hostPath): use an emptyDir,"
                " configMap, secret, projected or persistentVolumeClaim volume",
            }
        ],
    )
