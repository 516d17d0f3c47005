"""The decision: one object (plus its request context) against a policy set.

Pure: no I/O, no globals, no Flask. The webhook, the CLI and the audit all call `evaluate` and
`mutate` here, so they always agree.

    decision = evaluate(policies, Request(object=pod, operation="CREATE", namespace="shop"))
    result = mutate(policies, Request(object=pod))      # result.patch is an RFC 6902 list
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import orjson

from . import sessions
from .model import Policy, PolicySet, Rule
from .pod_updates import significant_pod_update
from .podspec import PodView, is_mapping, pod_view
from .result import Action, Decision, Finding, Status, Violation
from .shape import shape_problems

JUDGED_OPERATIONS = frozenset({"CREATE", "UPDATE"})
JUDGED_SUBRESOURCES = frozenset({"", "ephemeralcontainers"})
# Kinds whose pod spec the API server refuses to change on UPDATE (a Pod's spec, a Job's template),
# so the mutating webhook patches them on CREATE only. Pods' `ephemeralcontainers` subresource is the
# exception: there, only the ephemeral containers being added are mutated.
IMMUTABLE_POD_KINDS = frozenset({"Pod", "Job"})
INPUT_POLICY = "podgate-input"  # the pseudo-policy name of "this pod spec is malformed"


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str = ""
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    """What the engine needs to know about one admission request (or one object on disk)."""

    object: Mapping[str, Any] | None
    operation: str = "CREATE"
    old_object: Mapping[str, Any] | None = None
    kind: str | None = None  # request.kind.kind; defaults to the object's own kind
    subresource: str = ""
    namespace: str | None = None  # defaults to the object's metadata.namespace
    user: UserInfo = field(default_factory=UserInfo)
    namespace_labels: Mapping[str, str] | None = None  # None: not known
    dry_run: bool = False
    name: str = ""  # request.name: the pod a CONNECT or eviction names
    # The metadata (labels, annotations) of the pod a CONNECT or eviction names, which the request does
    # not carry: the front-end's held-pod cache fills it in. None: not known (see sessions.py).
    target_metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MutationResult:
    patch: list[dict[str, Any]]  # RFC 6902 operations; empty when nothing changes
    object: Mapping[str, Any] | None  # the mutated object (the original when nothing changes)
    applied: tuple[str, ...] = ()  # "policy/mutation" names that ran on the object


class DeadlineExceeded(Exception):
    """Evaluation ran past the caller's deadline; the caller answers per its failure mode."""


def evaluate(policies: PolicySet, request: Request, *, deadline: float | None = None) -> Decision:
    """Judge one request. `deadline` is a time.monotonic() value after which evaluation stops."""
    # Who may act on an object (sessions, holds: sessions.py) is judged before, and beside, its pod spec.
    if sessions.judged_alone(request):  # CONNECT, DELETE, evictions: no pod spec to judge
        return decide(*sessions.judge_access(policies, request))
    decision = _evaluate_pod(policies, request, deadline)
    if sessions.judged_beside(request, policies):  # UPDATEs, when some policy has access rules
        violations, outcomes, notes = sessions.judge_access(policies, request)
        return decide(
            (*decision.violations, *violations), {**decision.outcomes, **outcomes}, (*decision.notes, *notes)
        )
    return decision


def _evaluate_pod(policies: PolicySet, request: Request, deadline: float | None) -> Decision:
    # Short-circuits, in order; each says why nothing was judged.
    if request.operation not in JUDGED_OPERATIONS:
        return Decision(allowed=True, notes=(f"operation {request.operation} is not judged",))
    if request.subresource not in JUDGED_SUBRESOURCES:
        return Decision(allowed=True, notes=(f"subresource {request.subresource!r} is not judged",))
    obj = request.object
    pod = pod_view(obj, request.kind) if is_mapping(obj) else None
    if pod is None or obj is None:
        return Decision(allowed=True, notes=("the object carries no pod spec",))

    context = _Context(request, obj, pod)
    malformed = shape_problems(obj, pod)
    violations: list[Violation] = []
    outcomes: dict[str, Status] = {}
    notes: list[str] = []
    matched_actions: set[Action] = set()
    for policy in policies:
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded(f"evaluation passed its deadline before policy {policy.name!r}")
        if not policy.rules or not context.applies(policy, notes):
            continue
        matched_actions.update(policy.actions)
        if malformed:
            outcomes[policy.name] = Status.ERROR
            continue
        status, found = _judge(policy, context, notes, deadline)
        outcomes[policy.name] = status
        violations.extend(found)

    if malformed and matched_actions:
        actions = tuple(a for a in ("Deny", "Warn", "Audit") if a in matched_actions)
        if "Deny" in actions and "Warn" in actions:
            actions = tuple(a for a in actions if a != "Warn")
        violations = [_malformed_violation(path, problem, actions) for path, problem in malformed]
    return decide(violations, outcomes, notes)


def decide(violations: Iterable[Violation], outcomes: Mapping[str, Status], notes: Iterable[str]) -> Decision:
    """Fold violations into the answer: Deny → not allowed, Warn → warnings, Audit → annotations."""
    ordered = tuple(violations)
    if not ordered:  # the usual answer: allowed, nothing to fold
        return Decision(allowed=True, outcomes=dict(outcomes), notes=tuple(dict.fromkeys(notes)))
    warnings: dict[str, None] = {}  # ordered and de-duplicated in linear time (thousands of containers)
    audit: dict[str, list[str]] = {}
    for v in ordered:
        if "Warn" in v.actions:
            warnings[v.message] = None
        if "Audit" in v.actions:
            audit.setdefault(v.policy, []).append(v.message)
    return Decision(
        allowed=not any(v.denies for v in ordered),
        violations=ordered,
        warnings=tuple(warnings),
        audit_annotations={policy: "; ".join(messages) for policy, messages in audit.items()},
        outcomes=dict(outcomes),
        notes=tuple(dict.fromkeys(notes)),
    )


def mutate(policies: PolicySet, request: Request) -> MutationResult:
    """Apply the mutations of every matching policy, in policy order, to a copy; return the diff.

    The patch is the diff between the object as received and its mutated copy (never hand-built), so it
    applies cleanly to what the API server holds, creates missing parents and escapes `~` and `/`.
    Mutators only fill in what is absent, so mutating the mutated object gives an empty patch.
    Immutable fields are never patched: a Pod or Job is mutated on CREATE only, and on the
    `pods/ephemeralcontainers` subresource only the ephemeral containers being added change.
    """
    obj = request.object
    unchanged = MutationResult(patch=[], object=obj)
    mutating = policies.mutating
    if not mutating:  # the usual validating-only set: nothing to view, check or copy
        return unchanged
    if request.operation not in JUDGED_OPERATIONS or request.subresource not in JUDGED_SUBRESOURCES:
        return unchanged
    pod = pod_view(obj, request.kind) if is_mapping(obj) else None
    if pod is None or obj is None:
        return unchanged
    ephemeral_only = request.subresource == "ephemeralcontainers"
    if request.operation == "UPDATE" and pod.kind in IMMUTABLE_POD_KINDS and not ephemeral_only:
        # The API server refuses any change to these fields on UPDATE: a patch would fail the request.
        return unchanged
    context = _Context(request, obj, pod)
    chosen = [p for p in mutating if context.applies(p, [])]
    if not chosen or shape_problems(obj, pod):  # the schema walk only when a mutation would run
        return unchanged
    mutated = _json_copy(obj)
    mutated_pod = pod_view(mutated, pod.kind)
    assert mutated_pod is not None  # the copy has the same shape as the original
    applied = []
    for policy in chosen:
        for mutation in policy.mutations:
            mutation.compiled.apply(mutated_pod)
            applied.append(f"{policy.name}/{mutation.name}")
    if ephemeral_only:
        mutated = _keep_new_ephemeral_containers(obj, mutated, request.old_object)
    if mutated == obj:
        return MutationResult(patch=[], object=obj, applied=tuple(applied))
    patch = jsonpatch.make_patch(obj, mutated).patch
    return MutationResult(patch=list(patch), object=mutated, applied=tuple(applied))


def _json_copy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON-like object: an orjson round trip is ~5x faster than copy.deepcopy.

    Anything orjson cannot encode (integers beyond 64 bits from YAML, non-string keys, other types)
    falls back to copy.deepcopy, so the copy is always exact.
    """
    try:
        copied = orjson.loads(orjson.dumps(obj))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(dict(obj))
    if copied != obj:  # e.g. a float NaN or a tuple: keep deepcopy's exact semantics
        return copy.deepcopy(dict(obj))
    return dict(copied)


def _keep_new_ephemeral_containers(
    obj: Mapping[str, Any], mutated: dict[str, Any], old_object: Mapping[str, Any] | None
) -> dict[str, Any]:
    """On `pods/ephemeralcontainers` only the ephemeral containers being added may change.

    Everything else in a running pod (and every ephemeral container it already has) is immutable: the
    API server would refuse a patch that touches it. So the result is the object as received with only
    the new ephemeral containers taken from the mutated copy (new: a name `oldObject` does not have).
    """
    old_spec = old_object.get("spec") if isinstance(old_object, Mapping) else None
    old_items = old_spec.get("ephemeralContainers") if isinstance(old_spec, Mapping) else None
    existing = {c.get("name") for c in old_items or () if isinstance(c, Mapping)}
    kept = copy.deepcopy(dict(obj))
    kept_items = kept["spec"].get("ephemeralContainers")
    if kept_items:
        mutated_items = mutated["spec"]["ephemeralContainers"]  # mutators never add or remove items
        kept["spec"]["ephemeralContainers"] = [
            before if isinstance(before, Mapping) and before.get("name") in existing else after
            for before, after in zip(kept_items, mutated_items, strict=True)
        ]
    return kept


class _Context:
    """Per-request facts the matchers need, computed once."""

    __slots__ = ("_old_pod", "namespace", "object_labels", "pod", "request")

    def __init__(self, request: Request, obj: Mapping[str, Any], pod: PodView) -> None:
        self.request = request
        self.pod = pod
        metadata = obj.get("metadata")
        metadata = metadata if is_mapping(metadata) else {}
        namespace = request.namespace or metadata.get("namespace") or ""
        self.namespace = namespace if isinstance(namespace, str) else ""
        labels = metadata.get("labels")
        self.object_labels: Mapping[str, Any] = labels if is_mapping(labels) else {}
        self._old_pod: PodView | bool | None = False  # False: not computed yet

    @property
    def old_pod(self) -> PodView | None:
        """The pod of `oldObject`, used on UPDATE to find what the update introduced."""
        if self._old_pod is False:
            old = self.request.old_object
            self._old_pod = pod_view(old, self.pod.kind) if is_mapping(old) else None
        return self._old_pod  # type: ignore[return-value]

    def applies(self, policy: Policy, notes: list[str]) -> bool:
        match = policy.match
        request = self.request
        if request.operation not in match.operations or self.pod.kind not in match.kinds:
            return False
        if not match.namespace_matches(self.namespace):
            return False
        if match.object_selector is not None and not match.object_selector(self.object_labels):
            return False
        if match.namespace_selector is not None:
            labels = request.namespace_labels
            if labels is None:
                # Labels unknown: fail closed (judge) or open (skip), as the policy says; say so either way.
                judged = policy.failure_policy == "Fail"
                notes.append(
                    f"policy {policy.name}: namespace labels of {self.namespace!r} are not available; "
                    + ("judged anyway (failurePolicy Fail)" if judged else "skipped (failurePolicy Ignore)")
                )
                if not judged:
                    return False
            elif not match.namespace_selector(labels):
                return False
        return not policy.exemptions.exempts_user(request.user.username, request.user.groups)

    def judged_in_full(self, policy: Policy) -> bool:
        """CREATE, strict policies and `kubectl debug` are judged in full; other UPDATEs by what they add."""
        request = self.request
        return (
            request.operation != "UPDATE"
            or policy.strict_updates
            or policy.pod_security_updates
            or request.subresource == "ephemeralcontainers"
            or self.old_pod is None
        )

    def insignificant_pod_update(self) -> bool:
        """A Pod UPDATE that Pod Security Admission lets through unjudged (see pod_updates.py)."""
        old_pod = self.old_pod if self.request.operation == "UPDATE" and self.pod.kind == "Pod" else None
        return old_pod is not None and not significant_pod_update(self.pod, old_pod)


def _judge(
    policy: Policy, context: _Context, notes: list[str], deadline: float | None = None
) -> tuple[Status, list[Violation]]:
    pod = context.pod
    if policy.pod_security_updates and context.insignificant_pod_update():
        return Status.PASS, []
    violations: list[Violation] = []
    status = Status.PASS
    in_full = context.judged_in_full(policy)
    # Most policies exempt no image and most rules find nothing: keep that path to one list() per rule.
    exempts_image = policy.exemptions.exempts_image if policy.exemptions.images is not None else None
    for rule in policy.rules:
        # Between rules too: one policy of many rules over thousands of containers must not overrun it.
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded(
                f"evaluation passed its deadline before rule {rule.name!r} of {policy.name!r}"
            )
        try:
            found = rule.run(pod) if rule.run_request is None else rule.run_request(pod, context.request)
            findings = list(found)
            if findings and exempts_image is not None:
                findings = [f for f in findings if not exempts_image(f.image)]
            if findings and not in_full and rule.run_request is None:
                findings = _introduced(rule, policy, findings, context)
        except Exception as exc:  # defence in depth: a check bug must not become an allow or a 500
            status = Status.ERROR
            violations += policy.rule_failed(rule, exc, pod.spec_path, notes)
            continue
        for finding in findings:
            violations.append(policy.violation(rule, finding))
    if violations and status is Status.PASS:
        status = Status.FAIL
    return status, violations


def _introduced(rule: Rule, policy: Policy, findings: list[Finding], context: _Context) -> list[Finding]:
    """Keep only the findings the update adds: those the old object did not already have."""
    old_pod = context.old_pod
    assert old_pod is not None
    before = {
        _stable_key(f, old_pod) for f in rule.run(old_pod) if not policy.exemptions.exempts_image(f.image)
    }
    return [f for f in findings if _stable_key(f, context.pod) not in before]


def _stable_key(finding: Finding, pod: PodView) -> tuple[str, str]:
    """A finding's identity across an update: containers by name, not index (they may be reordered)."""
    path = finding.path
    for container in pod.containers:
        if path == container.path or path.startswith((container.path + ".", container.path + "[")):
            path = f"{container.field}/{container.name}{path[len(container.path) :]}"
            break
    else:
        path = path[len(pod.prefix) :] if path.startswith(pod.prefix) else path
    return path, repr(finding.value)


def _malformed_violation(path: str, problem: str, actions: tuple[Action, ...]) -> Violation:
    return Violation(
        policy=INPUT_POLICY,
        rule="well-formed",
        check="shape",
        actions=actions,
        path=path,
        value=None,
        message=f"{path} {problem}: correct the object; a malformed pod spec cannot be judged"
        f" [policy {INPUT_POLICY}]",
        remediation="Send an object that matches the Kubernetes API schema.",
    )
