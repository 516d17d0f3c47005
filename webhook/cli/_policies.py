"""Where the CLI finds policies: `-p PATH` as given, or the shipped library by default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from ..policy import PolicyLoadError, PolicySet


def shipped_policies() -> Path:
    """The library shipped with podgate: inside the wheel, or `policies/` beside a source checkout."""
    from ..settings import shipped_policies as library

    found = library()
    if not found.is_dir():
        raise UsageError("the shipped policy library is not installed; give policies with -p PATH")
    return found


def load_policy_set(paths: Sequence[str] | None, *, failure: str = "cannot load the policies") -> PolicySet:
    """Load policies all-or-nothing; a problem becomes a UsageError listing every problem found."""
    from ..policy import PolicyLoadError, load_policies

    chosen = list(paths) if paths else [str(shipped_policies())]
    try:
        return load_policies(*chosen)
    except PolicyLoadError as exc:
        raise load_failure(exc, failure) from None


def load_failure(exc: PolicyLoadError, failure: str) -> UsageError:
    """The usage error for a policy set that does not load: `failure`, then every problem on a line."""
    lines = "\n".join(f"  {problem}" for problem in exc.problems)
    return UsageError(f"{failure}:\n{lines}")
