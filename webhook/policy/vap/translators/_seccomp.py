"""Seccomp validations shared by the baseline and restricted translations (_pss.seccomp_type_findings)."""

from __future__ import annotations

import json
from typing import Any

from ...checks._pss import CONFINED_PROFILE_TYPES
from ._cel import POD, present

POD_PROFILE = f"{POD}.securityContext.seccompProfile"
OWN_PROFILE = "c.securityContext.seccompProfile"


def confined(profile: str) -> str:
    """`profile` (set and not null) has type RuntimeDefault or Localhost."""
    return f"(has({profile}.type) && {profile}.type in {json.dumps(sorted(CONFINED_PROFILE_TYPES))})"


def explicit_types_allowed(guard: str = "") -> list[dict[str, Any]]:
    """No seccompProfile, on the pod or a container, sets a type other than RuntimeDefault/Localhost."""
    prefix = f"{guard} || " if guard else ""
    message = "seccomp must not be turned off: set seccompProfile.type to RuntimeDefault or Localhost"
    return [
        {
            "expression": f"{prefix}!({present(POD_PROFILE)}) || {confined(POD_PROFILE)}",
            "message": f"the pod: {message}",
        },
        {
            "expression": f"{prefix}variables.allContainers.all(c, "
            f"!({present(OWN_PROFILE)}) || {confined(OWN_PROFILE)})",
            "message": f"containers: {message}",
        },
    ]
