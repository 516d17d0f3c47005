"""What checks report and what the engine decides.

A check yields `Finding`s (what is wrong and how to fix it, at which path). The engine turns them into
`Violation`s (the finding plus the policy, its actions and remediation) and folds those into one
`Decision` per object. Everything here is plain data: the webhook, the CLI and the audit render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Action = Literal["Deny", "Warn", "Audit"]
ACTIONS: tuple[Action, ...] = ("Deny", "Warn", "Audit")


class Status(StrEnum):
    """Outcome of one policy on one object (Kyverno's rule statuses)."""

    PASS = "pass"  # matched, no violation
    FAIL = "fail"  # matched, at least one violation
    ERROR = "error"  # matched, could not be evaluated; the policy's failurePolicy decides
    SKIP = "skip"  # did not match, or was exempted


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found wrong.

    `problem` names the object part and what is wrong, `fix` says what to change; the engine joins
    them: `container "web" (spec.containers[0]) must not run privileged: set securityContext.privileged
    to false [policy no-privileged]`.
    """

    path: str  # JSON path of the offending field as the user wrote it
    value: Any  # the offending value (None when the problem is a missing field)
    problem: str
    fix: str
    image: str | None = None  # image of the container concerned, for image exemptions


@dataclass(frozen=True, slots=True)
class Violation:
    policy: str
    rule: str
    check: str
    actions: tuple[Action, ...]
    path: str
    value: Any
    message: str
    remediation: str

    @property
    def denies(self) -> bool:
        return "Deny" in self.actions

    def key(self) -> tuple[str, str, str, str]:
        """Identity across an UPDATE: the same policy, rule, field and value is the same violation."""
        return (self.policy, self.rule, self.path, repr(self.value))

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "check": self.check,
            "actions": list(self.actions),
            "path": self.path,
            "value": self.value,
            "message": self.message,
            "remediation": self.remediation,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on one object.

    `allowed` is False exactly when some violation carries the Deny action. `outcomes` lists every
    policy that matched the object, with its status, in policy order.
    """

    allowed: bool
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()
    audit_annotations: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, Status] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # things the user should know that are not violations

    @property
    def denials(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.denies)

    def deny_message(self) -> str:
        """One message for the API server's `status.message`: kubectl prints it to the user."""
        denials = self.denials
        if not denials:
            return ""
        head = f"podgate denied the request ({len(denials)} violation{'s' if len(denials) > 1 else ''}): "
        return head + "; ".join(v.message for v in denials)
