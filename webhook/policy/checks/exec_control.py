"""exec-control: only granted users, groups and service accounts may open sessions into pods.

Sessions: `kubectl exec` (CONNECT pods/exec), `kubectl attach` (pods/attach), `kubectl port-forward`
(pods/portforward) and `kubectl debug` (UPDATE pods/ephemeralcontainers).
Restricted: every session in scope (params.sessions) by anyone no grant covers.
Allowed: a session some grant covers: its namespace matches the grant's `namespaces` globs and, when
given, its `namespaceSelector` (namespace labels that are unknown never match), the session kind is
in the grant's `sessions`, and the user, one of their groups, or their service account is listed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from ..access import AccessCheckFn, AccessRequest, access_check
from ..document import LabelSelector, glob_regex
from ..match import SERVICE_ACCOUNT_PREFIX, LabelPredicate, compile_selector
from ..registry import CheckParams
from ..result import Finding

Session = Literal["exec", "attach", "portforward", "debug"]
SESSIONS: tuple[Session, ...] = ("exec", "attach", "portforward", "debug")
NOUNS = {"exec": "exec into", "attach": "attach to", "portforward": "port-forward to", "debug": "debug"}


class Grant(CheckParams):
    namespaces: list[str] = Field(default_factory=lambda: ["*"], min_length=1)  # globs
    namespace_selector: LabelSelector | None = None
    sessions: list[Session] = Field(default_factory=lambda: list(SESSIONS), min_length=1)
    users: list[str] = Field(default_factory=list)  # globs
    groups: list[str] = Field(default_factory=list)  # globs
    service_accounts: list[str] = Field(default_factory=list)  # "namespace:name" globs

    @model_validator(mode="after")
    def _names_someone(self) -> Grant:
        if not (self.users or self.groups or self.service_accounts):
            raise ValueError("a grant names at least one of users, groups, serviceAccounts")
        for account in self.service_accounts:
            if account.count(":") != 1:
                raise ValueError(f'service account {account!r} must be written "namespace:name"')
        return self


class Params(CheckParams):
    # The sessions this rule controls; others pass.
    sessions: list[Session] = Field(default_factory=lambda: list(SESSIONS), min_length=1)
    grants: list[Grant] = Field(default_factory=list)  # none: only the policy's exemptions may open one
    contact: str = ""  # who grants access, e.g. "#platform-oncall"; shown in the denial


class _CompiledGrant:
    __slots__ = ("grant", "groups", "namespace_selector", "namespaces", "service_accounts", "users")

    def __init__(self, grant: Grant) -> None:
        self.grant = grant
        self.namespaces = glob_regex(grant.namespaces)
        self.namespace_selector: LabelPredicate | None = (
            compile_selector(grant.namespace_selector) if grant.namespace_selector else None
        )
        self.users = glob_regex(grant.users)
        self.groups = glob_regex(grant.groups)
        self.service_accounts = glob_regex(grant.service_accounts)

    def in_scope(self, access: AccessRequest) -> bool:
        if access.action not in self.grant.sessions:
            return False
        if self.namespaces is not None and not self.namespaces.fullmatch(access.namespace):
            return False
        if self.namespace_selector is None:
            return True
        labels = access.namespace_labels
        return labels is not None and self.namespace_selector(labels)

    def covers(self, access: AccessRequest) -> bool:
        return (
            _matches(self.users, access.username)
            or any(_matches(self.groups, g) for g in access.groups)
            or (
                access.username.startswith(SERVICE_ACCOUNT_PREFIX)
                and _matches(self.service_accounts, access.username[len(SERVICE_ACCOUNT_PREFIX) :])
            )
        )

    def describe(self) -> list[str]:
        g = self.grant
        return [
            *(f"group {x}" for x in g.groups),
            *(f"user {x}" for x in g.users),
            *(f"service account {x}" for x in g.service_accounts),
        ]


def _matches(pattern: re.Pattern[str] | None, value: str) -> bool:
    return pattern is not None and pattern.fullmatch(value) is not None


@access_check("exec-control", params=Params, summary="only granted identities may open sessions")
def build(params: Params) -> AccessCheckFn:
    controlled = frozenset(params.sessions)
    grants = tuple(_CompiledGrant(g) for g in params.grants)
    ask = f"; ask {params.contact} for access" if params.contact else ""

    def run(access: AccessRequest) -> Iterator[Finding]:
        if access.action not in controlled:
            return
        in_scope = [g for g in grants if g.in_scope(access)]
        if any(g.covers(access) for g in in_scope):
            return
        allowed = sorted({who for g in in_scope for who in g.describe()})
        unknown_labels = access.namespace_labels is None and any(g.namespace_selector for g in grants)
        groups = f" (groups: {', '.join(access.groups)})" if access.groups else ""
        yield Finding(
            path="request.userInfo",
            value=access.username,
            problem=(
                f"{access.username or 'an anonymous user'}{groups} may not {NOUNS[access.action]} "
                f"pod {access.pod_ref}{_describe_session(access)}"
            ),
            fix=(
                f"{access.action} sessions in namespace {access.namespace} are open to "
                + (", ".join(allowed) if allowed else "nobody")
                + (" (the namespace's labels were not available to match grants)" if unknown_labels else "")
                + ask
            ),
        )

    return run


def _describe_session(access: AccessRequest) -> str:
    parts = []
    if access.container:
        parts.append(f"container {access.container}")
    if access.command:
        parts.append(f"command {shlex.join(access.command)}")
    if access.ports:
        parts.append(f"ports {', '.join(map(str, access.ports))}")
    return f" ({'; '.join(parts)})" if parts else ""
