"""The built-in checks and mutators, registered by stable id.

A check module defines a `Params` model (the typed parameters a policy may give it) and a builder that
turns validated params into a pure function of the pod, once, at load time:

    class Params(CheckParams):
        allowed_capabilities: list[str] = []

    @check("no-privileged", params=Params, summary="...")
    def build(params: Params) -> CheckFn:
        allowed = frozenset(c.upper() for c in params.allowed_capabilities)
        def run(pod: PodView) -> Iterator[Finding]: ...
        return run

Mutators are the same, with a builder that returns a function editing a (copied) pod in place and the
list of fields it sets, so that two policies that set the same field are a load-time conflict.
The id is the token used in policy files, file names, messages, logs and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .podspec import PodView
from .result import Finding


class CheckParams(BaseModel):
    """Base for check and mutator parameters: strict types, camelCase keys, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, defer_build=True
    )


class CheckFn(Protocol):
    def __call__(self, pod: PodView, /) -> Iterable[Finding]: ...


class MutateFn(Protocol):
    def __call__(self, pod: PodView, /) -> None:
        """Edit the pod in place; `pod.metadata`/`pod.spec` are the mutable copies' own dicts."""


P = TypeVar("P", bound=CheckParams)


@dataclass(frozen=True)
class CheckType(Generic[P]):
    id: str
    summary: str
    params: type[P]
    build: Callable[[P], CheckFn]


@dataclass(frozen=True)
class Mutator:
    """A compiled mutation: what it does, and the fields (relative to the pod) it may set."""

    apply: MutateFn
    targets: frozenset[str]


@dataclass(frozen=True)
class MutatorType(Generic[P]):
    id: str
    summary: str
    params: type[P]
    build: Callable[[P], Mutator]


CHECKS: dict[str, CheckType[Any]] = {}
MUTATORS: dict[str, MutatorType[Any]] = {}

B = TypeVar("B", bound=Callable[..., Any])
E = TypeVar("E")


def registrar(
    kind: str, entry_id: str, table: dict[str, E], entry: Callable[[B], E], *, taken: Container[str] = ()
) -> Callable[[B], B]:
    """A decorator that files `entry(build)` under `entry_id` in `table` (refused if the id is in
    `table` or `taken` already) and returns the builder unchanged."""

    def register(build: B) -> B:
        if entry_id in table or entry_id in taken:
            raise RuntimeError(f"{kind} id {entry_id!r} is registered twice")
        table[entry_id] = entry(build)
        return build

    return register


def check(
    check_id: str, *, params: type[P], summary: str
) -> Callable[[Callable[[P], CheckFn]], Callable[[P], CheckFn]]:
    return registrar("check", check_id, CHECKS, lambda build: CheckType(check_id, summary, params, build))


def mutator(
    mutator_id: str, *, params: type[P], summary: str
) -> Callable[[Callable[[P], Mutator]], Callable[[P], Mutator]]:
    return registrar(
        "mutator", mutator_id, MUTATORS, lambda build: MutatorType(mutator_id, summary, params, build)
    )
