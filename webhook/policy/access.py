"""Access checks: rules that judge who may act on a pod or workload, not what its spec contains.

Pod checks (`registry.check`) see a `PodView`. Access checks see an `AccessRequest`: the action
(exec, attach, portforward, debug, delete, evict, update), the user, and the *target* — the object
acted on, as it was before the request. That target comes from different places:

    DELETE, UPDATE (and kubectl debug)   `oldObject`, which the API server always sends
    CONNECT (exec/attach/portforward),   only the pod's name: its metadata comes from the front-end's
    CREATE pods/eviction                 held-pod cache (`Request.target_metadata`), None when unknown

An access check that needs the target and finds it unknown raises `TargetUnknown`; the engine turns
that into an ERROR outcome, so the policy's failurePolicy decides (Fail: deny, Ignore: allow, noted).

    @access_check("forensic-hold", params=Params, summary="...")
    def build(params: Params) -> AccessCheckFn:
        def run(access: AccessRequest) -> Iterator[Finding]: ...
        return run
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from .registry import CHECKS, CheckParams, registrar
from .result import Finding

# The action a request performs on its target, by (operation, subresource).
ACTIONS: Final[Mapping[tuple[str, str], str]] = {
    ("CONNECT", "exec"): "exec",
    ("CONNECT", "attach"): "attach",
    ("CONNECT", "portforward"): "portforward",
    ("UPDATE", "ephemeralcontainers"): "debug",  # `kubectl debug` adds an ephemeral container
    ("DELETE", ""): "delete",
    # `kubectl drain` evicts: the API server then deletes the pod without a DELETE admission review.
    ("CREATE", "eviction"): "evict",
    ("UPDATE", ""): "update",
}
SESSION_ACTIONS: Final = frozenset({"exec", "attach", "portforward", "debug"})


class TargetUnknown(Exception):
    """The target's metadata is not known (a CONNECT or eviction, and the held-pod cache cannot say)."""


@dataclass(frozen=True, slots=True)
class EphemeralContainer:
    """A container `kubectl debug` adds: what a debug session runs."""

    name: str
    image: str
    command: tuple[str, ...]
    target: str  # targetContainerName: whose process namespace it joins ("" when none)


# Built for every judged request: a plain slotted class (a frozen dataclass costs twice as much to
# build); treat it as read-only all the same.
@dataclass(slots=True)
class AccessRequest:
    """One request acting on a pod or workload, as access checks see it."""

    action: str  # exec | attach | portforward | debug | delete | evict | update
    operation: str  # the admission operation: CONNECT | UPDATE | DELETE | CREATE (eviction)
    kind: str  # the target's kind: Pod for sessions and evictions, the workload's kind otherwise
    namespace: str
    name: str
    username: str
    groups: tuple[str, ...]
    target: Mapping[str, Any] | None  # the target's metadata before the request; None: unknown
    new_metadata: Mapping[str, Any] | None  # the object's metadata after an UPDATE, else None
    options: Mapping[str, Any]  # PodExecOptions / PodAttachOptions / PodPortForwardOptions; {} otherwise
    namespace_labels: Mapping[str, str] | None  # None: not known
    debug_containers: tuple[EphemeralContainer, ...] = ()  # the ephemeral containers a debug adds

    @property
    def pod_ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def container(self) -> str:
        """The container a session opens into ("" lets the API server pick the default one)."""
        if self.debug_containers:
            return ", ".join(c.name for c in self.debug_containers)
        value = self.options.get("container")
        return value if isinstance(value, str) else ""

    @property
    def command(self) -> tuple[str, ...]:
        if self.debug_containers:
            return tuple(arg for c in self.debug_containers for arg in c.command)
        value = self.options.get("command")
        return tuple(str(a) for a in value) if isinstance(value, list) else ()

    @property
    def ports(self) -> tuple[int, ...]:
        """Forwarded ports, when the client put them in the URL (kubectl sends them in stream headers)."""
        value = self.options.get("ports")
        return tuple(p for p in value if isinstance(p, int)) if isinstance(value, list) else ()

    def require_target(self) -> Mapping[str, Any]:
        if self.target is None:
            raise TargetUnknown(
                f"the metadata of pod {self.pod_ref} is not known to the webhook (its held-pod cache "
                "has not synced with the API server), so a hold on it cannot be ruled out"
            )
        return self.target

    def target_annotations(self) -> Mapping[str, Any]:
        annotations = self.require_target().get("annotations")
        return annotations if isinstance(annotations, Mapping) else {}


class AccessCheckFn(Protocol):
    def __call__(self, access: AccessRequest, /) -> Iterable[Finding]: ...


P = TypeVar("P", bound=CheckParams)


@dataclass(frozen=True)
class AccessCheckType(Generic[P]):
    id: str
    summary: str
    params: type[P]
    build: Callable[[P], AccessCheckFn]


ACCESS_CHECKS: dict[str, AccessCheckType[Any]] = {}


def access_check(
    check_id: str, *, params: type[P], summary: str
) -> Callable[[Callable[[P], AccessCheckFn]], Callable[[P], AccessCheckFn]]:
    return registrar(
        "check",
        check_id,
        ACCESS_CHECKS,
        lambda build: AccessCheckType(check_id, summary, params, build),
        taken=CHECKS,
    )
