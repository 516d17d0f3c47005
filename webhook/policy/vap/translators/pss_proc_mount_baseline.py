"""pss-proc-mount-baseline in CEL: procMount Default or unset, unless the pod runs in its own user
namespace (`hostUsers: false`) (checks/pss_proc_mount_baseline.py)."""

from __future__ import annotations

from ...checks.pss_proc_mount_baseline import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS, OWN_USER_NAMESPACE
from ._proc_mount import proc_mount_masked


@translator("pss-proc-mount-baseline")
def translate(params: Params) -> Translation:
    return Translation(
        variables=[ALL_CONTAINERS],
        validations=[proc_mount_masked(OWN_USER_NAMESPACE)],
    )
