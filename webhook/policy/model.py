"""Compiled policies: everything a request needs, prepared once at load time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .access import AccessCheckFn
from .match import Exempter, Matcher
from .podspec import PodView
from .registry import CheckFn, Mutator
from .result import Action, Finding, Violation

# A rule that needs the whole request (CEL rules: object, oldObject, request, namespaceObject), not only
# the pod: called with the pod view and the engine's Request.
RequestCheckFn = Callable[[PodView, Any], Iterable[Finding]]


class RuleEvaluationError(Exception):
    """A rule's failure worded for its reader (a CEL runtime error, a cost bound): reported as it
    is, where an unexpected exception is reported with its class name."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    check: str  # the registered check id; "cel" for an expression rule
    run: CheckFn
    # Set for expression rules: used instead of `run`, judged in full on UPDATE (the expression sees
    # oldObject and decides itself, as in ValidatingAdmissionPolicy).
    run_request: RequestCheckFn | None = None


@dataclass(frozen=True, slots=True)
class AccessRule:
    """A rule that judges who may act on an object (sessions, holds): see access.py."""

    name: str
    check: str  # the registered access check id
    run: AccessCheckFn


@dataclass(frozen=True, slots=True)
class Mutation:
    name: str
    mutator: str  # the registered mutator id
    compiled: Mutator


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    description: str
    remediation: str
    actions: tuple[Action, ...]
    failure_policy: str  # "Fail" | "Ignore"
    strict_updates: bool
    match: Matcher
    exemptions: Exempter
    rules: tuple[Rule, ...]
    mutations: tuple[Mutation, ...] = ()
    source: str = ""  # "file.yaml#0", where the policy was read from
    pod_security_updates: bool = False  # judge UPDATEs as Pod Security Admission does (engine._judge)
    access_rules: tuple[AccessRule, ...] = ()  # a policy has access rules or pod rules, never both

    @property
    def denies(self) -> bool:
        return "Deny" in self.actions

    @property
    def needs_namespace_labels(self) -> bool:
        return self.match.namespace_selector is not None

    def violation(self, rule: Rule | AccessRule, finding: Finding) -> Violation:
        """What `rule` of this policy reports for `finding`: `problem: fix [policy name]`."""
        return Violation(
            policy=self.name,
            rule=rule.name,
            check=rule.check,
            actions=self.actions,
            path=finding.path,
            value=finding.value,
            message=f"{finding.problem}{': ' + finding.fix if finding.fix else ''} [policy {self.name}]",
            remediation=self.remediation,
        )

    def rule_failed(
        self, rule: Rule | AccessRule, exc: Exception, path: str, notes: list[str]
    ) -> list[Violation]:
        """A rule that raised: a denial at `path` under failurePolicy Fail, a note under Ignore."""
        cause = str(exc) if isinstance(exc, RuleEvaluationError) else f"{type(exc).__name__}: {exc}"
        detail = f"policy {self.name} could not evaluate rule {rule.name}: {cause}"
        if self.failure_policy != "Fail":
            notes.append(f"{detail}; ignored because its failurePolicy is Ignore")
            return []
        denial = Finding(
            path=path, value=None, problem=f"{detail}; denied because its failurePolicy is Fail", fix=""
        )
        return [self.violation(rule, denial)]


@dataclass(frozen=True, slots=True)
class PolicySet:
    """An immutable, fully validated set of policies, in a defined order (by name).

    The order is the order of evaluation, of messages and of mutations; it never depends on file
    layout or dictionary order.
    """

    policies: tuple[Policy, ...]
    sources: tuple[str, ...] = field(default=())  # the files it was loaded from
    # Derived once at load, read on every request:
    mutating: tuple[Policy, ...] = field(init=False, repr=False, compare=False)
    guarding: tuple[Policy, ...] = field(init=False, repr=False, compare=False)  # those with access rules

    def __post_init__(self) -> None:
        object.__setattr__(self, "mutating", tuple(p for p in self.policies if p.mutations))
        object.__setattr__(self, "guarding", tuple(p for p in self.policies if p.access_rules))

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.policies)

    @property
    def data_sources(self) -> tuple[str, ...]:
        """Files that checks read at load (scan reports): reload the set when they change, too."""
        found = (getattr(r.run, "data_sources", ()) for p in self.policies for r in p.rules)
        return tuple(dict.fromkeys(path for paths in found for path in paths))
