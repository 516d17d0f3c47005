"""pss-proc-mount-restricted in CEL: procMount Default or unset, user namespace or not
(checks/pss_proc_mount_restricted.py)."""

from __future__ import annotations

from ...checks.pss_proc_mount_restricted import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS
from ._proc_mount import proc_mount_masked


@translator("pss-proc-mount-restricted")
def translate(params: Params) -> Translation:
    return Translation(variables=[ALL_CONTAINERS], validations=[proc_mount_masked()])
