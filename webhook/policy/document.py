"""The policy file format: what a `kind: Policy` document may contain, validated strictly.

These pydantic models are the single description of the format: the loader validates every document
against them (unknown fields and wrong types are errors with their field path), and `docs/policies.md`
explains them. They describe the file only; `model.py` holds the compiled, ready-to-run policy.

    apiVersion: podgate.io/v1alpha1
    kind: Policy
    metadata: {name: no-privileged}
    spec:
      description: ...
      remediation: ...
      actions: [Deny]                 # Deny | Warn | Audit (VAP validationActions)
      failurePolicy: Fail             # what an evaluation error means: Fail (deny) | Ignore
      strictUpdates: false            # true: judge UPDATEs in full, not only what they introduce
      podSecurityUpdates: false       # true: judge UPDATEs as Pod Security Admission does
      match: {...}                    # operations, kinds, namespaces, selectors
      exemptions: {...}               # users, groups, service accounts, images
      rules: [{check: no-privileged, params: {...}}]   # or CEL: [{name: ..., validations: [...]}]
      mutations: [{mutator: ..., params: {...}}]
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .podspec import POD_KINDS
from .result import Action

API_VERSION = "podgate.io/v1alpha1"
DEFAULT_ACTIONS: tuple[Action, ...] = ("Deny",)
Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]  # DELETE, CONNECT: access checks only
OPERATIONS: tuple[Operation, ...] = ("CREATE", "UPDATE")  # the default

# A Kubernetes object name (RFC 1123 subdomain), used for policy, rule and mutation names.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", max_length=253)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel)


class LabelRequirement(Strict):
    key: NonEmpty
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs a non-empty `values` list")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no `values`")
        return self


class LabelSelector(Strict):
    """A Kubernetes label selector: every `matchLabels` pair and every expression must hold."""

    match_labels: dict[str, str] = {}
    match_expressions: list[LabelRequirement] = []


class MatchSpec(Strict):
    """Which requests a policy applies to: an AND of all the given conditions."""

    operations: list[Operation] = Field(default_factory=lambda: list(OPERATIONS), min_length=1)
    kinds: list[str] = Field(default_factory=lambda: sorted(POD_KINDS), min_length=1)
    namespaces: list[NonEmpty] = []  # globs; empty means every namespace
    excluded_namespaces: list[NonEmpty] = []  # globs
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in POD_KINDS]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(sorted(POD_KINDS))}")
        return kinds


class Exemptions(Strict):
    """Requests or containers a policy never judges. All entries are globs (`*`, `?`, `[...]`)."""

    users: list[NonEmpty] = []
    groups: list[NonEmpty] = []
    service_accounts: list[NonEmpty] = []  # "namespace:name", e.g. "kube-system:*"
    images: list[NonEmpty] = []  # matched against the normalised reference, e.g. "docker.io/library/nginx:*"

    @field_validator("service_accounts")
    @classmethod
    def _namespace_colon_name(cls, accounts: list[str]) -> list[str]:
        for account in accounts:
            if account.count(":") != 1:
                raise ValueError(f'service account {account!r} must be written "namespace:name"')
        return accounts


class CheckRule(Strict):
    """A rule that runs a built-in check."""

    name: Name | None = None  # defaults to the check id
    check: NonEmpty
    params: dict[str, Any] = {}


# A CEL identifier, for variable names (`variables.<name>`).
CelIdentifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
StatusReason = Literal["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"]


class Validation(Strict):
    """One CEL validation, as in ValidatingAdmissionPolicy: the object passes when it is true."""

    expression: NonEmpty
    message: NonEmpty | None = None
    message_expression: NonEmpty | None = None
    reason: StatusReason | None = None
    field_path: NonEmpty | None = None  # where the message points; defaults to the pod spec


class Variable(Strict):
    name: CelIdentifier
    expression: NonEmpty


# A Kubernetes qualified name (as matchCondition names are): an optional DNS prefix and "/", then a name.
QualifiedName = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    ),
]


class MatchCondition(Strict):
    name: QualifiedName
    expression: NonEmpty


class ExpressionRule(Strict):
    """A rule in CEL, with ValidatingAdmissionPolicy's variables and meaning (see docs/cel.md)."""

    name: Name
    validations: list[Validation] = Field(min_length=1)
    variables: list[Variable] = []
    match_conditions: list[MatchCondition] = []
    params: dict[str, Any] | None = None  # the `params` object; null when absent


def _rule_tag(value: Any) -> str:
    if isinstance(value, dict) and "check" not in value and ("validations" in value or "expression" in value):
        return "rule[expression]"
    return "rule[check]"


# Pydantic tags carry "[": the loader's field paths drop such parts, so errors read spec.rules[0].check.
RuleSpec = Annotated[
    Annotated[CheckRule, Tag("rule[check]")] | Annotated[ExpressionRule, Tag("rule[expression]")],
    Discriminator(_rule_tag),
]


class MutationSpec(Strict):
    name: Name | None = None  # defaults to the mutator id
    mutator: NonEmpty
    params: dict[str, Any] = {}


class PolicySpec(Strict):
    description: NonEmpty
    remediation: NonEmpty
    actions: list[Action] = Field(default_factory=lambda: list(DEFAULT_ACTIONS), min_length=1)
    failure_policy: Literal["Fail", "Ignore"] = "Fail"
    strict_updates: bool = False
    # As Pod Security Admission: a Pod update that changes no image and adds no container is allowed
    # unjudged; any other update, and every update of a workload, is judged in full.
    pod_security_updates: bool = False
    match: MatchSpec = MatchSpec()
    exemptions: Exemptions = Exemptions()
    rules: list[RuleSpec] = Field(min_length=1)
    mutations: list[MutationSpec] = []

    @field_validator("actions")
    @classmethod
    def _actions_combine(cls, actions: list[Action]) -> list[Action]:
        if len(set(actions)) != len(actions):
            raise ValueError("actions must not repeat")
        if "Deny" in actions and "Warn" in actions:
            # As in ValidatingAdmissionPolicy: a denial is already shown to the user.
            raise ValueError("Deny and Warn may not be combined (a denial is already shown to the user)")
        return actions

    @model_validator(mode="after")
    def _one_update_rule(self) -> PolicySpec:
        if self.strict_updates and self.pod_security_updates:
            raise ValueError(
                "strictUpdates and podSecurityUpdates exclude each other: choose one update rule"
            )
        return self


class Metadata(Strict):
    name: Name
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class PolicyDocument(Strict):
    api_version: Literal["podgate.io/v1alpha1"]
    kind: Literal["Policy"]
    metadata: Metadata
    spec: PolicySpec


def glob_regex(patterns: list[str]) -> re.Pattern[str] | None:
    """One compiled regex matching any of the shell-style globs (None for an empty list)."""
    import fnmatch

    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
