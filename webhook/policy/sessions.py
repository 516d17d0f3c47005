"""Who may act on a pod or workload: the access path of the engine, and the session record.

`evaluate` (engine.py) sends here what carries no pod spec to judge — CONNECT (`pods/exec`,
`pods/attach`, `pods/portforward`), DELETE and evictions — and, beside the pod checks, every UPDATE
when some policy has access rules (holds, `kubectl debug`). Only policies with access rules
(access.py) take part; pod checks never see these requests.

Matching follows the policy's `match` as for pod checks, with these meanings:

    operations      the admission operation; an eviction (CREATE pods/eviction) counts as DELETE
    kinds           the target's kind: Pod for sessions and evictions, the old object's kind otherwise
    objectSelector  the target's labels: `oldObject`'s for DELETE/UPDATE, the held-pod cache's for
                    CONNECT and evictions, which knows the labels of held pods only (otherwise
                    unknown: the policy's failurePolicy decides, and says so)

Pure: the request says everything, including what the front-end's cache knows (`target_metadata`).
`session_record` turns a judged session into the structured record the decision log writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .access import ACTIONS, SESSION_ACTIONS, AccessRequest, EphemeralContainer
from .model import Policy, PolicySet
from .podspec import is_mapping
from .result import Decision, Status, Violation

if TYPE_CHECKING:
    from .engine import Request

RECORD_EVENT = "pod-session"
NAMED_ONLY_ACTIONS = frozenset({"exec", "attach", "portforward", "evict"})  # the request names the pod only
# The (operation, subresource) of those requests: the front-end's held-pod cache (or a suite case's
# targetMetadata) supplies their target's metadata.
NAMED_ONLY_REQUESTS = frozenset(key for key, action in ACTIONS.items() if action in NAMED_ONLY_ACTIONS)


def matched_operation(operation: str, subresource: str) -> str:
    """The operation `match.operations` knows a request by: an eviction is matched as a DELETE."""
    return "DELETE" if subresource == "eviction" else operation


# The operations under which policies match those requests (CONNECT, DELETE).
NAMED_ONLY_OPERATIONS = frozenset(matched_operation(*key) for key in NAMED_ONLY_REQUESTS)


def judged_alone(request: Request) -> bool:
    """Requests with no pod spec to judge (CONNECT, DELETE, evictions): only access rules can say
    anything about them."""
    return matched_operation(request.operation, request.subresource) in ("CONNECT", "DELETE")


def judged_beside(request: Request, policies: PolicySet) -> bool:
    """UPDATEs are judged by pod checks and, when a policy has access rules, by those too."""
    return request.operation == "UPDATE" and bool(policies.guarding)


def access_request(request: Request) -> AccessRequest | None:
    """The access view of a request; None for what access checks never judge (e.g. `pods/status`)."""
    action = ACTIONS.get((request.operation, request.subresource))
    return None if action is None else _access_view(request, action)


def _access_view(request: Request, action: str) -> AccessRequest:
    old = _mapping(request.old_object)
    new = _mapping(request.object)
    by_name = action in NAMED_ONLY_ACTIONS
    target = request.target_metadata if by_name else _metadata(old) if old is not None else None
    kind = "Pod" if by_name else (request.kind or (str(old.get("kind") or "") if old else ""))
    namespace = request.namespace or str((target or {}).get("namespace") or "")
    name = request.name or str((target or {}).get("name") or "")
    user = request.user
    return AccessRequest(
        action=action,
        operation=request.operation,
        kind=kind,
        namespace=namespace,
        name=name,
        username=user.username,
        groups=user.groups,
        target=target,
        new_metadata=_metadata(new) if new is not None and request.operation == "UPDATE" else None,
        options=new if new is not None and request.operation == "CONNECT" else {},
        namespace_labels=request.namespace_labels,
        debug_containers=_added_ephemeral_containers(old, new) if action == "debug" else (),
    )


def judge_access(
    policies: PolicySet, request: Request
) -> tuple[list[Violation], dict[str, Status], list[str]]:
    """Run the access rules of every matching policy: (violations, outcomes, notes) for `decide`."""
    # Cheap filter first: most UPDATEs meet no access policy that judges their operation.
    operation = matched_operation(request.operation, request.subresource)
    candidates = [p for p in policies.guarding if operation in p.match.operations]
    access = access_request(request) if candidates else None
    violations: list[Violation] = []
    outcomes: dict[str, Status] = {}
    notes: list[str] = []
    if access is not None:
        for policy in candidates:
            if _applies(policy, access, notes):
                status, found = _judge(policy, access, notes)
                outcomes[policy.name] = status
                violations.extend(found)
    if not outcomes and judged_alone(request):
        where = f" on {request.subresource!r}" if request.subresource else ""
        notes.append(f"operation {request.operation}{where} is not judged by any policy")
    return violations, outcomes, notes


def session_record(request: Request, decision: Decision, *, uid: str = "") -> dict[str, Any] | None:
    """The decision-log record of an exec, attach, port-forward or debug session; None for other requests.

    Written for every session, allowed or denied, whatever the policies say: one JSON object per line.
    """
    # Every judged request passes here: tell sessions apart by operation first, before building a view.
    action = ACTIONS.get((request.operation, request.subresource))
    if action not in SESSION_ACTIONS:
        return None
    access = _access_view(request, action)
    record: dict[str, Any] = {
        "event": RECORD_EVENT,
        "uid": uid,
        "action": access.action,
        "allowed": decision.allowed,
        "dryRun": request.dry_run,
        "user": access.username,
        "groups": list(access.groups),
        "namespace": access.namespace,
        "pod": access.name,
        "container": access.container,
        "command": list(access.command),
    }
    if access.action in ("exec", "attach"):
        record["stdin"] = access.options.get("stdin") is True
        record["tty"] = access.options.get("tty") is True
    if access.action == "portforward":
        record["ports"] = list(access.ports)
    if access.action == "debug":
        record["images"] = [c.image for c in access.debug_containers]
        record["targetContainers"] = [c.target for c in access.debug_containers if c.target]
    record["denials"] = [v.message for v in decision.denials]
    record["warnings"] = list(decision.warnings)
    record["policies"] = {name: str(status) for name, status in decision.outcomes.items()}
    record["notes"] = list(decision.notes)
    return record


def _applies(policy: Policy, access: AccessRequest, notes: list[str]) -> bool:
    match = policy.match
    operation = "DELETE" if access.action == "evict" else access.operation
    if operation not in match.operations or access.kind not in match.kinds:
        return False
    if not match.namespace_matches(access.namespace):
        return False
    if match.object_selector is not None:
        # For a request that names its pod, the held-pod cache knows the labels of held pods only; for
        # others it answers "not held" without labels, which cannot show that a selector matches.
        target = access.target
        if target is None or (access.action in NAMED_ONLY_ACTIONS and "labels" not in target):
            if not _judged_unknown(policy, notes, f"the labels of pod {access.pod_ref} are not available"):
                return False
        elif not match.object_selector(_labels(target)):
            return False
    if match.namespace_selector is not None:
        labels = access.namespace_labels
        if labels is None:
            if not _judged_unknown(
                policy, notes, f"namespace labels of {access.namespace!r} are not available"
            ):
                return False
        elif not match.namespace_selector(labels):
            return False
    return not policy.exemptions.exempts_user(access.username, access.groups)


def _judged_unknown(policy: Policy, notes: list[str], what: str) -> bool:
    """Something a selector needs is unknown: fail closed (judge) or open (skip), as the policy says."""
    judged = policy.failure_policy == "Fail"
    notes.append(
        f"policy {policy.name}: {what}; "
        + ("judged anyway (failurePolicy Fail)" if judged else "skipped (failurePolicy Ignore)")
    )
    return judged


def _judge(policy: Policy, access: AccessRequest, notes: list[str]) -> tuple[Status, list[Violation]]:
    violations: list[Violation] = []
    status = Status.PASS
    for rule in policy.access_rules:
        try:
            findings = list(rule.run(access))
        except Exception as exc:  # an unknown target or a check bug: never an allow by accident
            status = Status.ERROR
            violations += policy.rule_failed(rule, exc, "metadata", notes)
            continue
        violations += (policy.violation(rule, finding) for finding in findings)
    if violations and status is Status.PASS:
        status = Status.FAIL
    return status, violations


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if is_mapping(value) else None


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(obj.get("metadata")) or {}


def _labels(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = metadata.get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _added_ephemeral_containers(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[EphemeralContainer, ...]:
    """The ephemeral containers an UPDATE of `pods/ephemeralcontainers` adds (they can never be removed)."""

    def containers(obj: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        spec = obj.get("spec") if obj is not None else None
        items = spec.get("ephemeralContainers") if isinstance(spec, Mapping) else None
        return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []

    before = {c.get("name") for c in containers(old)}
    added = []
    for c in containers(new):
        if c.get("name") in before:
            continue
        command = [*(c.get("command") or []), *(c.get("args") or [])]
        added.append(
            EphemeralContainer(
                name=str(c.get("name") or ""),
                image=str(c.get("image") or ""),
                command=tuple(str(a) for a in command),
                target=str(c.get("targetContainerName") or ""),
            )
        )
    return tuple(added)
