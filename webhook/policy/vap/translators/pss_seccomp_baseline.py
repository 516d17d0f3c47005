"""pss-seccomp-baseline in CEL: no seccompProfile type other than RuntimeDefault or Localhost
(checks/pss_seccomp_baseline.py)."""

from __future__ import annotations

from ...checks.pss_seccomp_baseline import Params
from . import Translation, translator
from ._cel import ALL_CONTAINERS
from ._seccomp import explicit_types_allowed


@translator("pss-seccomp-baseline")
def translate(params: Params) -> Translation:
    return Translation(variables=[ALL_CONTAINERS], validations=explicit_types_allowed())
