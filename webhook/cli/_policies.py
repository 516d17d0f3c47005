"""Where the CLI finds policies: `-p PATH` as given, or the shipped library by default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from ..policy import PolicySet

_PACKAGE = Path(__file__).resolve().parent.parent


def shipped_policies() -> Path:
    """The library shipped with podgate: inside the wheel, or `policies/` beside a source checkout."""
    for candidate in (_PACKAGE / "_shipped_policies", _PACKAGE.parent / "policies"):
        if candidate.is_dir():
            return candidate
    raise UsageError("the shipped policy library is not installed; give policies with -p PATH")


def load_policy_set(paths: Sequence[str] | None) -> PolicySet:
    """Load policies all-or-nothing; a problem becomes a UsageError listing every problem found."""
    from ..policy import PolicyLoadError, load_policies

    chosen = list(paths) if paths else [str(shipped_policies())]
    try:
        return load_policies(*chosen)
    except PolicyLoadError as exc:
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise UsageError(f"cannot load the policies:\n{lines}") from None
