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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..policy import PolicySet, Request, Status, evaluate
from ..policy.podspec import POD_KINDS
from ..policy.result import Action, Violation
from .split import DeferredItem, SplitUnsound
from .stream import Located, SourceDigest, read_sources

SEVERITY: Mapping[Action, int] = {"Deny": 3, "Warn": 2, "Audit": 1}


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation as a report needs it (the engine's Violation, minus the offending value's object).

    Findings are interned per audit (`Interner`): thousands of pods from one template share the same few
    findings, so memory grows with the distinct findings, not with the number of failing pods.
    """

    policy: str
    rule: str
    actions: tuple[Action, ...]
    path: str
    message: str
    remediation: str
    action: Action = field(init=False, compare=False, repr=False)  # the strongest action, derived

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", strongest(self.actions))

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


def strongest(actions: tuple[Action, ...]) -> Action:
    """What a finding does at admission: its strongest action ("Audit" when it has none)."""
    return max(actions, key=SEVERITY.__getitem__) if actions else "Audit"


# A finding as it travels between processes and as the interning key: Finding's fields, in order.
RawFinding = tuple[str, str, tuple[Action, ...], str, str, str]


def raw_findings(violations: Iterable[Violation]) -> tuple[RawFinding, ...]:
    return tuple((v.policy, v.rule, v.actions, v.path, v.message, v.remediation) for v in violations)


class Interner:
    """One Finding per distinct finding, and one tuple per distinct list of findings, for one audit.

    Bounded by what it saves: it holds each distinct finding once, where the results would otherwise
    hold every copy.
    """

    __slots__ = ("_findings", "_tuples")

    def __init__(self) -> None:
        self._findings: dict[RawFinding, Finding] = {}
        self._tuples: dict[tuple[int, ...], tuple[Finding, ...]] = {}

    def __len__(self) -> int:
        return len(self._findings)

    def findings(self, raws: Iterable[RawFinding]) -> tuple[Finding, ...]:
        known = self._findings
        found = []
        for raw in raws:
            finding = known.get(raw)
            if finding is None:
                finding = known[raw] = Finding(*raw)
            found.append(finding)
        if not found:
            return ()
        key = tuple(map(id, found))  # interned findings live as long as the interner: ids are stable
        interned = self._tuples.get(key)
        if interned is None:
            interned = self._tuples[key] = tuple(found)
        return interned


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

    def as_dict(self, finding_dicts: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        """`finding_dicts` (id of an interned Finding -> its dict) shares one dict per distinct finding."""
        as_dict = Finding.as_dict if finding_dicts is None else _shared_as_dict(finding_dicts)
        data: dict[str, Any] = {
            "ref": self.ref,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "source": self.source,
            "ownedObjectsFolded": self.owned,
            "violations": [as_dict(f) for f in self.findings],
        }
        if self.line is not None:
            data["line"] = self.line
        if self.before is not None:
            data["violationsBefore"] = [as_dict(f) for f in self.before]
        return data


def _shared_as_dict(cache: dict[int, dict[str, Any]]) -> Any:
    def as_dict(finding: Finding) -> dict[str, Any]:
        found = cache.get(id(finding))
        if found is None:
            found = cache[id(finding)] = finding.as_dict()
        return found

    return as_dict


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


@dataclass(slots=True)
class Subject:
    """One pod-bearing object to judge: what the report keeps of it, and what the engine needs."""

    kind: str
    namespace: str
    name: str
    uid: str
    owner: str  # the controller's uid, "" when not owned
    source: str
    file: str | None
    line: int | None
    object: Mapping[str, Any] | DeferredItem | None  # dropped once judged
    namespace_labels: Mapping[str, str] | None  # as known when the object was read


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the audit keeps of one decision (or two, when comparing), in a form that pickles compactly."""

    findings: tuple[RawFinding, ...]
    before: tuple[RawFinding, ...] | None  # under the OLD set, when comparing
    outcomes: tuple[tuple[str, Status], ...]
    notes: tuple[str, ...]


def judge(subject: Subject, policies: PolicySet, old_policies: PolicySet | None) -> Verdict:
    """Judge one object as the webhook would on CREATE (against both sets, when comparing)."""
    obj = subject.object
    assert not isinstance(obj, DeferredItem), "settled before it is judged"
    request = Request(object=obj, operation="CREATE", namespace_labels=subject.namespace_labels)
    decision = evaluate(policies, request)
    before = None
    if old_policies is not None:
        before = raw_findings(evaluate(old_policies, request).violations)
    return Verdict(
        raw_findings(decision.violations), before, tuple(decision.outcomes.items()), decision.notes
    )


def judge_serially(
    subjects: Iterable[Subject], policies: PolicySet, old_policies: PolicySet | None
) -> Iterator[tuple[Subject, Verdict | None]]:
    """(subject, verdict); None for a deferred item that turned out not to be a pod-bearing kind."""
    for subject in subjects:
        if type(subject.object) is DeferredItem and not settle(subject):
            yield subject, None
            continue
        verdict = judge(subject, policies, old_policies)
        subject.object = None
        yield subject, verdict


def settle(subject: Subject) -> bool:
    """Parse a subject read as text (a `DeferredItem`) and fill in what the intake takes from an object.

    False when it is not a pod-bearing kind (`subject.kind` says which). Whatever goes wrong raises
    `SplitUnsound`: the audit is then run again with the sources read serially, which says what it is.
    """
    item = subject.object
    assert isinstance(item, DeferredItem)
    try:
        obj, line = item.parse()
        kind = _kind(Located("", 0, None, line, obj))
    except Exception as exc:
        raise SplitUnsound(f"{subject.source}: {exc}") from None
    subject.kind, subject.line = kind, line
    if kind not in POD_KINDS:
        subject.object = None
        return False
    subject.namespace, subject.name, subject.uid, subject.owner = _identity(obj)
    subject.object = obj
    subject.namespace_labels = (item.labels or {}).get(subject.namespace)
    return True


class _Intake:
    """Reads the objects in order: counts them, remembers namespace labels, yields what is to be judged."""

    def __init__(self, namespace_labels: Mapping[str, Mapping[str, str]] | None) -> None:
        self.labels: dict[str, Mapping[str, str]] = dict(namespace_labels or {})
        self.read = 0
        self.skipped: Counter[str] = Counter()

    def subjects(self, objects: Iterable[Located]) -> Iterator[Subject]:
        labels = self.labels
        snapshot: dict[str, Mapping[str, str]] | None = None  # of `labels`, shared by deferred items
        for located in objects:
            self.read += 1
            obj = located.object
            if type(obj) is DeferredItem:  # parsed where it is judged: settled there (see `settle`)
                if snapshot is None:
                    snapshot = dict(labels)
                obj.labels = snapshot  # its kind is counted (judged or skipped) when its verdict comes
                yield Subject(
                    kind="",
                    namespace="",
                    name="",
                    uid="",
                    owner="",
                    source=located.where,
                    file=None if located.source in ("-", "cluster") else located.source,
                    line=None,
                    object=obj,
                    namespace_labels=None,
                )
                continue
            kind = _kind(located)
            if kind == "Namespace":
                _remember_namespace_labels(obj, labels)
                snapshot = None
            if kind not in POD_KINDS:
                self.skipped[kind] += 1
                continue
            namespace, name, uid, owner = _identity(obj)
            yield Subject(
                kind=kind,
                namespace=namespace,
                name=name,
                uid=uid,
                owner=owner,
                source=located.where,
                file=None if located.source in ("-", "cluster") else located.source,
                line=located.line,
                object=obj,
                namespace_labels=labels.get(namespace),
            )


class _Tally:
    """Counts per policy and namespace, kept per distinct (namespace, outcomes, findings) of an object.

    Pods of one template have the same outcomes and findings: one counter increment per object here,
    expanded into the PolicyTally once, at the end (same keys, same counts, same order).
    """

    def __init__(self) -> None:
        self._kinds: dict[tuple[str, tuple[tuple[str, Status], ...], int], list[Any]] = {}

    def add(
        self, namespace: str, outcomes: tuple[tuple[str, Status], ...], findings: tuple[Finding, ...]
    ) -> None:
        key = (namespace, outcomes, id(findings))  # interned: one id per distinct findings tuple
        entry = self._kinds.get(key)
        if entry is None:
            self._kinds[key] = [1, namespace, outcomes, findings]
        else:
            entry[0] += 1

    def expand(self) -> PolicyTally:
        tally = PolicyTally()
        for n, namespace, outcomes, findings in self._kinds.values():
            for policy, status in outcomes:
                tally.matched[policy, namespace] += n
                if status is Status.FAIL:
                    tally.failed[policy, namespace] += n
                elif status is Status.ERROR:
                    tally.errors[policy, namespace] += n
            judged = {policy for policy, _ in outcomes}
            for f in findings:
                if f.policy not in judged:  # the podgate-input pseudo-policy
                    tally.matched[f.policy, namespace] += 0
                tally.violations[f.policy, namespace, f.action] += n
        return tally


def audit(
    objects: Iterable[Located],
    policies: PolicySet,
    *,
    old_policies: PolicySet | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
    jobs: int = 1,
) -> AuditResult:
    """Judge every object; with `old_policies`, judge each against both sets (OLD → `policies`).

    `jobs` > 1 judges in that many worker processes while this one reads and folds (see parallel.py);
    the result is the same as with one.
    """
    started = time.time()
    intake = _Intake(namespace_labels)
    subjects = intake.subjects(objects)
    if jobs > 1:
        from .parallel import judge_in_workers

        verdicts = judge_in_workers(subjects, policies, old_policies, jobs)
    else:
        verdicts = judge_serially(subjects, policies, old_policies)
    interner = Interner()
    results: list[ObjectResult] = []
    pending: list[_Pending] = []  # owned objects, folded at the end if their owner was seen
    owners_of: dict[str, str] = {}  # uid -> controller uid, for objects that are themselves owned
    seen_uids: dict[str, ObjectResult | None] = {}  # uid of every judged controller-capable object
    tally = _Tally()
    notes: dict[str, None] = {}
    judged = 0

    try:
        for subject, verdict in verdicts:
            if verdict is None:  # a deferred item of another kind
                intake.skipped[subject.kind] += 1
                continue
            judged += 1
            for note in verdict.notes:
                notes.setdefault(note)
            findings = interner.findings(verdict.findings)
            tally.add(subject.namespace, verdict.outcomes, findings)
            before = None if verdict.before is None else interner.findings(verdict.before)
            result = None
            if findings or before:
                result = ObjectResult(
                    kind=subject.kind,
                    namespace=subject.namespace,
                    name=subject.name,
                    uid=subject.uid,
                    source=subject.source,
                    file=subject.file,
                    line=subject.line,
                    findings=findings,
                    before=before,
                )
            uid, owner = subject.uid, subject.owner
            if uid:
                seen_uids[uid] = result
                if owner:
                    owners_of[uid] = owner
            if owner:
                pending.append(_Pending(result, owner))
            elif result is not None:
                results.append(result)
    finally:
        close = getattr(verdicts, "close", None)
        if close is not None:
            close()  # stops the workers, whether the audit finished or not

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
        objects_read=intake.read,
        objects_judged=judged,
        objects_folded=folded,
        skipped_kinds=intake.skipped,
        tally=tally.expand(),
        policies=policies.names,
        started=started,
        finished=time.time(),
        notes=tuple(notes),
        compare=old_policies is not None,
    )


def audit_paths(
    paths: Sequence[str],
    policies: PolicySet,
    *,
    old_policies: PolicySet | None = None,
    jobs: int = 1,
    digests: list[SourceDigest] | None = None,
    stdin: BinaryIO | None = None,
) -> AuditResult:
    """`audit` of the objects in files and directories ("-" is stdin), read as they are judged.

    With workers, a YAML List's items are cut apart here and parsed there (see split.py). Should a piece
    not parse alone (`SplitUnsound`), the sources are read again serially, so the result, or the error,
    is exactly the serial one. Stdin cannot be read twice: with "-" among the paths nothing is cut.
    `digests` gets one SourceDigest per source, of the reading the result comes from.
    """
    start = len(digests) if digests is not None else 0
    try:
        objects = read_sources(paths, stdin=stdin, digests=digests, split=jobs > 1 and "-" not in paths)
        return audit(objects, policies, old_policies=old_policies, jobs=jobs)
    except SplitUnsound:
        if digests is not None:
            del digests[start:]  # those of the reading given up
        objects = read_sources(paths, stdin=stdin, digests=digests)
        return audit(objects, policies, old_policies=old_policies, jobs=jobs)


def _top_owner(uid: str, owners_of: Mapping[str, str], seen: Mapping[str, Any]) -> str | None:
    """The outermost audited controller above `uid` (Pod → ReplicaSet → Deployment), or None."""
    if uid not in seen:
        return None
    hops = 0
    while uid in owners_of and owners_of[uid] in seen and hops < 16:
        uid = owners_of[uid]
        hops += 1
    return uid


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


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(namespace, name, uid, controller uid) of an object `_kind` accepted."""
    found = obj.get("metadata")
    metadata: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return (
        _text(metadata.get("namespace")),
        _text(metadata.get("name")),
        _text(metadata.get("uid")),
        _controller_uid(metadata),
    )


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
