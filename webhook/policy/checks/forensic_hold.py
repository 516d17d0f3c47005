"""forensic-hold: a held pod or workload is frozen for investigation.

An object whose own metadata carries the label `podgate.io/hold: "true"` is under forensic hold. Until a
responder lifts it, nobody outside the responder groups may:
  delete it (DELETE), evict it (CREATE pods/eviction: `kubectl drain`), change it (UPDATE, including
  `kubectl debug`), or open a session into it (CONNECT pods/exec, pods/attach, pods/portforward).
Holds themselves are guarded: only a responder may place, change or lift one, and the responder who
places it must sign it (annotation `podgate.io/held-by` = their own username) and give a reason
(`podgate.io/hold-reason`), so the denial message can say truthfully who placed it and why.

Restricted: every action above on a held target (the target's labels before the request).
Allowed: responders (params.responderGroups / responderUsers); `pods/status` (the kubelet keeps reporting).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from ..access import AccessCheckFn, AccessRequest, access_check
from ..registry import CheckParams
from ..result import Finding

HOLD_LABEL = "podgate.io/hold"
HOLD_VALUE = "true"
REASON_ANNOTATION = "podgate.io/hold-reason"
HELD_BY_ANNOTATION = "podgate.io/held-by"
HELD_AT_ANNOTATION = "podgate.io/held-at"
HOLD_ANNOTATIONS = (REASON_ANNOTATION, HELD_BY_ANNOTATION, HELD_AT_ANNOTATION)

VERBS = {
    "exec": "exec into",
    "attach": "attach to",
    "portforward": "port-forward to",
    "debug": "debug",
    "delete": "delete",
    "evict": "evict",
    "update": "change",
}


class Params(CheckParams):
    responder_groups: list[str] = Field(default_factory=lambda: ["incident-response"])
    responder_users: list[str] = Field(default_factory=list)


def is_held(metadata: Mapping[str, Any] | None) -> bool:
    labels = (metadata or {}).get("labels")
    return isinstance(labels, Mapping) and labels.get(HOLD_LABEL) == HOLD_VALUE


def resource_ref(kind: str, name: str) -> str:
    """`pod/web`, `deployment/web`: how podgate and kubectl name an object on the command line."""
    return f"{kind.lower()}/{name}"


def release_command(kind: str, name: str, namespace: str) -> str:
    ns = f" -n {shlex.quote(namespace)}" if namespace else ""
    return f"podgate release {shlex.quote(resource_ref(kind, name))}{ns}"


@access_check("forensic-hold", params=Params, summary="held pods and workloads are frozen for responders")
def build(params: Params) -> AccessCheckFn:
    users = frozenset(params.responder_users)
    groups = frozenset(params.responder_groups)
    who = ", ".join([*(f"group {g}" for g in sorted(groups)), *(f"user {u}" for u in sorted(users))])

    def run(access: AccessRequest) -> Iterator[Finding]:
        responder = access.username in users or not groups.isdisjoint(access.groups)
        if responder:  # before the target is looked up: an unknown target never blocks the responders
            yield from _signed(access)
            return
        held_before = is_held(access.require_target())
        held_after = is_held(access.new_metadata) if access.new_metadata is not None else held_before
        noun = f"{access.kind.lower()} {access.pod_ref}"
        if held_before:
            annotations = access.target_annotations()
            by = annotations.get(HELD_BY_ANNOTATION) or "an unnamed responder"
            at = annotations.get(HELD_AT_ANNOTATION)
            reason = annotations.get(REASON_ANNOTATION) or "no reason given"
            yield Finding(
                path=f"metadata.labels.{HOLD_LABEL}",
                value=HOLD_VALUE,
                problem=(
                    f"{noun} is under forensic hold, placed by {by}{f' at {at}' if at else ''} "
                    f"({reason}); {access.username or 'this user'} may not {VERBS[access.action]} it"
                ),
                fix=(
                    f"only {who} may act on it until the hold is lifted; to lift it, a responder runs "
                    f"`{release_command(access.kind, access.name, access.namespace)}`"
                ),
            )
        elif held_after:
            yield Finding(
                path=f"metadata.labels.{HOLD_LABEL}",
                value=HOLD_VALUE,
                problem=f"only {who} may place a forensic hold on {noun}",
                fix="ask the incident-response team to run `podgate hold`",
            )

    return run


def _signed(access: AccessRequest) -> Iterator[Finding]:
    """A responder placing (or changing) a hold signs it with their own name and gives a reason."""
    new = access.new_metadata
    if new is None or not is_held(new):
        return
    annotations = new.get("annotations")
    annotations = annotations if isinstance(annotations, Mapping) else {}
    old = access.target or {}
    old_annotations = old.get("annotations") if isinstance(old.get("annotations"), Mapping) else {}
    signature_changed = any(
        annotations.get(key) != (old_annotations or {}).get(key) for key in HOLD_ANNOTATIONS
    )
    if is_held(old) and not signature_changed:
        return  # an unrelated change to a held object by a responder
    if annotations.get(HELD_BY_ANNOTATION) != access.username:
        yield Finding(
            path=f"metadata.annotations.{HELD_BY_ANNOTATION}",
            value=annotations.get(HELD_BY_ANNOTATION),
            problem=f"a forensic hold must be signed by the responder who places it ({access.username})",
            fix=f"set annotation {HELD_BY_ANNOTATION} to {access.username!r} (`podgate hold` does this)",
        )
    if not annotations.get(REASON_ANNOTATION):
        yield Finding(
            path=f"metadata.annotations.{REASON_ANNOTATION}",
            value=None,
            problem="a forensic hold needs a reason",
            fix=f"set annotation {REASON_ANNOTATION}, e.g. the incident ticket (`podgate hold --reason`)",
        )
