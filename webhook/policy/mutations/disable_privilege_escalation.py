"""disable-privilege-escalation: set allowPrivilegeEscalation: false where a container leaves it unset.

Unset means true for a non-privileged Linux container (setuid binaries can gain privileges). An
explicit value, true or false, is the author's decision and is left alone. The API server refuses
`allowPrivilegeEscalation: false` beside `privileged: true` or an added CAP_SYS_ADMIN, and on a Windows
pod (spec.os.name: windows), so those containers are skipped rather than made invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..podspec import CONTAINER_FIELDS, PodView, ensure_mapping
from ..registry import CheckParams, Mutator, mutator


class Params(CheckParams):
    pass


def _refuses_false(security_context: Mapping[str, Any]) -> bool:
    if security_context.get("privileged") is True:
        return True
    added = (security_context.get("capabilities") or {}).get("add") or []
    return any(str(c).upper().removeprefix("CAP_") == "SYS_ADMIN" for c in added)


@mutator(
    "disable-privilege-escalation",
    params=Params,
    summary="set securityContext.allowPrivilegeEscalation to false where it is unset",
)
def build(params: Params) -> Mutator:
    def apply(pod: PodView) -> None:
        if (pod.spec.get("os") or {}).get("name") == "windows":
            return
        for c in pod.containers:
            sc = c.spec.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not None or _refuses_false(sc):
                continue
            ensure_mapping(c.spec, "securityContext")["allowPrivilegeEscalation"] = False

    targets = frozenset(f"{field}[*].securityContext.allowPrivilegeEscalation" for field in CONTAINER_FIELDS)
    return Mutator(apply=apply, targets=targets)
