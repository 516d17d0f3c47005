"""pss-apparmor in CEL: appArmorProfile types RuntimeDefault or Localhost, and the deprecated
per-container annotations "", runtime/default or localhost/* (checks/pss_apparmor.py)."""

from __future__ import annotations

import json

from ...checks.pss_apparmor import ANNOTATION_PREFIX, Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, POD, present
from ._seccomp import confined

ANNOTATIONS = "variables.podMetadata.annotations"


@translator("pss-apparmor")
def translate(params: Params) -> Translation:
    pod_profile = f"{POD}.securityContext.appArmorProfile"
    own_profile = "c.securityContext.appArmorProfile"
    value = f"{ANNOTATIONS}[k]"
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[
            {
                "expression": f"!({present(pod_profile)}) || {confined(pod_profile)}",
                "message": "the pod must not disable AppArmor: set securityContext.appArmorProfile.type"
                " to RuntimeDefault or Localhost, or remove it",
            },
            {
                "expression": "variables.allContainers.all(c, "
                f"!({present(own_profile)}) || {confined(own_profile)})",
                "message": "containers must not disable AppArmor: set securityContext.appArmorProfile.type"
                " to RuntimeDefault or Localhost, or remove it",
            },
            {
                "expression": f"!({present(ANNOTATIONS)}) || {ANNOTATIONS}.all(k, "
                f"!k.startsWith({json.dumps(ANNOTATION_PREFIX)}) || {value} in ['', 'runtime/default']"
                f" || {value}.startsWith('localhost/'))",
                "message": f"annotations {ANNOTATION_PREFIX}* must be runtime/default or localhost/<profile>",
            },
        ],
    )
