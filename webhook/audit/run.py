"""The audit itself: every object through the engine, results folded to the object the user fixes.

Each object is judged as if it were being created (`evaluate` with a CREATE request), exactly as the
webhook would judge it. Only what a report needs is kept per object (its identity and its violations,
never the object), so memory grows with the number of failing objects, not with the size of the input.

Pods owned by a controller are reported once, at the controller: a Pod whose controlling owner is an
object of a pod-bearing kind that the audit also saw (its ReplicaSet, itself owned by a Deployment) is
folded into that owner, which counts it. An owned Pod whose owner was not seen (a dump of Pods only, or
an owner of a kind the audit cannot judge) is reported itself, so nothing is lost.

`compare` judges each object against two policy sets in the same pass: newly failing, newly passing and
unchanged failures.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..policy import PolicySet, Request, Status, evaluate
from ..policy.podspec import POD_KINDS
from ..policy.result import Action, Violation
from .stream import Located

SEVERITY: Mapping[Action, int] = {"Deny": 3, "Warn": 2, "Audit": 1}


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation as a report needs it (the engine's Violation, minus the offending value's object)."""

    policy: str
    rule: str
    actions: tuple[Action, ...]
    path: str
    message: str
    remediation: str

    @classmethod
    def of(cls, v: Violation) -> Finding:
        return cls(v.policy, v.rule, v.actions, v.path, v.message, v.remediation)

    @property
    def action(self) -> Action:
        """The strongest action: what this finding does at admission."""
        return max(self.actions, key=SEVERITY.__getitem__) if self.actions else "Audit"

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "action": self.action,
            "actions": list(self.actions),
            "path": self.path,
            "message": self.message,
            "remediation": self.remediation,
        }


@dataclass(slots=True)
class ObjectResult:
    """One audited object that fails at least one policy (in either set, when comparing)."""

    kind: str
    namespace: str
    name: str
    uid: str
    source: str  # "file.yaml: document 0: items[3]" or "cluster"
    file: str | None  # the manifest file, for SARIF locations
    line: int | None
    findings: tuple[Finding, ...]
    before: tuple[Finding, ...] | None = None  # findings under the OLD set, when comparing
    owned: int = 0  # owned objects (Pods, ReplicaSets, Jobs) folded into this one

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def worst(self) -> int:
        return max((SEVERITY[f.action] for f in self.findings), default=0)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ref": self.ref,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "source": self.source,
            "ownedObjectsFolded": self.owned,
            "violations": [f.as_dict() for f in self.findings],
        }
        if self.line is not None:
            data["line"] = self.line
        if self.before is not None:
            data["violationsBefore"] = [f.as_dict() for f in self.before]
        return data


@dataclass(slots=True)
class PolicyTally:
    """Per policy and namespace: how many objects it matched and how many failed."""

    matched: Counter[tuple[str, str]] = field(default_factory=Counter)  # (policy, namespace) -> n
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    violations: Counter[tuple[str, str, Action]] = field(default_factory=Counter)


@dataclass(slots=True)
class AuditResult:
    """Everything a renderer needs. `results` holds only failing objects, at the object to fix."""

    results: list[ObjectResult]
    objects_read: int
    objects_judged: int  # pod-bearing objects evaluated
    objects_folded: int  # owned objects folded into their controller
    skipped_kinds: Counter[str]
    tally: PolicyTally
    policies: tuple[str, ...]
    started: float
    finished: float
    notes: tuple[str, ...] = ()
    compare: bool = False

    @property
    def failing(self) -> list[ObjectResult]:
        return [r for r in self.results if r.findings]

    def newly_failing(self) -> list[ObjectResult]:
        return [r for r in self.results if r.findings and not r.before]

    def newly_passing(self) -> list[ObjectResult]:
        return [r for r in self.results if r.before and not r.findings]

    def still_failing(self) -> list[ObjectResult]:
        return [r for r in self.results if r.before and r.findings]

    def count_at_least(self, action: Action, results: Iterable[ObjectResult] | None = None) -> int:
        """Objects with a finding whose strongest action is `action` or stronger."""
        floor = SEVERITY[action]
        return sum(1 for r in (self.failing if results is None else results) if r.worst >= floor)


@dataclass(slots=True)
class _Pending:
    result: ObjectResult | None  # None: the owned object passes
    owner_uid: str


def audit(
    objects: Iterable[Located],
    policies: PolicySet,
    *,
    old_policies: PolicySet | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> AuditResult:
    """Judge every object; with `old_policies`, judge each against both sets (OLD → `policies`)."""
    started = time.time()
    labels: dict[str, Mapping[str, str]] = dict(namespace_labels or {})
    results: list[ObjectResult] = []
    pending: list[_Pending] = []  # owned objects, folded at the end if their owner was seen
    owners_of: dict[str, str] = {}  # uid -> controller uid, for objects that are themselves owned
    seen_uids: dict[str, ObjectResult | None] = {}  # uid of every judged controller-capable object
    tally = PolicyTally()
    skipped: Counter[str] = Counter()
    notes: dict[str, None] = {}
    read = judged = 0

    for located in objects:
        read += 1
        obj = located.object
        kind = _kind(located)
        if kind == "Namespace":
            _remember_namespace_labels(obj, labels)
        if kind not in POD_KINDS:
            skipped[kind] += 1
            continue
        judged += 1
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        namespace = _text(metadata.get("namespace"))
        request = Request(object=obj, operation="CREATE", namespace_labels=labels.get(namespace))
        decision = evaluate(policies, request)
        for note in decision.notes:
            notes.setdefault(note)
        _count(tally, decision.outcomes, decision.violations, namespace)
        findings = tuple(Finding.of(v) for v in decision.violations)
        before: tuple[Finding, ...] | None = None
        if old_policies is not None:
            before = tuple(Finding.of(v) for v in evaluate(old_policies, request).violations)
        result = None
        if findings or before:
            result = ObjectResult(
                kind=kind,
                namespace=namespace,
                name=_text(metadata.get("name")),
                uid=_text(metadata.get("uid")),
                source=located.where,
                file=None if located.source in ("-", "cluster") else located.source,
                line=located.line,
                findings=findings,
                before=before,
            )
        uid = _text(metadata.get("uid"))
        owner = _controller_uid(metadata)
        if uid:
            seen_uids[uid] = result
            if owner:
                owners_of[uid] = owner
        if owner:
            pending.append(_Pending(result, owner))
        elif result is not None:
            results.append(result)

    folded = 0
    for item in pending:
        top = _top_owner(item.owner_uid, owners_of, seen_uids)
        if top is None:  # the controller was not audited: report the owned object itself
            if item.result is not None:
                results.append(item.result)
            continue
        target = seen_uids.get(top)
        if item.result is not None and target is None:
            # The controller passes but this object fails: it differs from its template (changed at
            # admission or by hand), so it is reported itself rather than hidden behind a passing owner.
            results.append(item.result)
            continue
        folded += 1
        if target is not None:
            target.owned += 1
    return AuditResult(
        results=results,
        objects_read=read,
        objects_judged=judged,
        objects_folded=folded,
        skipped_kinds=skipped,
        tally=tally,
        policies=policies.names,
        started=started,
        finished=time.time(),
        notes=tuple(notes),
        compare=old_policies is not None,
    )


def _top_owner(uid: str, owners_of: Mapping[str, str], seen: Mapping[str, Any]) -> str | None:
    """The outermost audited controller above `uid` (Pod → ReplicaSet → Deployment), or None."""
    if uid not in seen:
        return None
    hops = 0
    while uid in owners_of and owners_of[uid] in seen and hops < 16:
        uid = owners_of[uid]
        hops += 1
    return uid


def _count(
    tally: PolicyTally, outcomes: Mapping[str, Status], violations: Iterable[Violation], namespace: str
) -> None:
    for policy, status in outcomes.items():
        tally.matched[policy, namespace] += 1
        if status is Status.FAIL:
            tally.failed[policy, namespace] += 1
        elif status is Status.ERROR:
            tally.errors[policy, namespace] += 1
    for v in violations:
        if v.policy not in outcomes:  # the podgate-input pseudo-policy
            tally.matched[v.policy, namespace] += 0
        tally.violations[v.policy, namespace, Finding.of(v).action] += 1


def _kind(located: Located) -> str:
    obj = located.object
    if not isinstance(obj, Mapping):
        from ..inputs import InputError

        raise InputError(f"{located.where}: expected a Kubernetes object (a mapping)")
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        from ..inputs import InputError

        raise InputError(f"{located.where}: kind: missing or not a string; every object needs a `kind`")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        from ..inputs import InputError

        raise InputError(f"{located.where}: metadata: expected a mapping, got {type(metadata).__name__}")
    return kind


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _controller_uid(metadata: Mapping[str, Any]) -> str:
    refs = metadata.get("ownerReferences")
    if not isinstance(refs, list):
        return ""
    for ref in refs:
        if isinstance(ref, Mapping) and ref.get("controller") is True and ref.get("kind") in POD_KINDS:
            return _text(ref.get("uid"))
    return ""


def _remember_namespace_labels(obj: Mapping[str, Any], labels: dict[str, Mapping[str, str]]) -> None:
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("name"), str):
        found = metadata.get("labels")
        labels[metadata["name"]] = dict(found) if isinstance(found, Mapping) else {}


def worst_offenders(results: Iterable[ObjectResult], top: int) -> list[ObjectResult]:
    """The objects to fix first: strongest action, then most violations, then most pods behind them."""
    ranked = sorted(results, key=lambda r: (-r.worst, -len(r.findings), -r.owned, r.ref))
    return ranked[:top]


def iter_failing_by_namespace(results: Iterable[ObjectResult]) -> Iterator[tuple[str, list[ObjectResult]]]:
    groups: dict[str, list[ObjectResult]] = {}
    for r in results:
        if r.findings:
            groups.setdefault(r.namespace, []).append(r)
    for namespace in sorted(groups):
        yield namespace, groups[namespace]
