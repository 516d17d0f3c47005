"""Which requests and containers a policy applies to: an AND of small, precompiled predicates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .document import Exemptions, LabelSelector, MatchSpec, glob_regex
from .images import normalize_image

LabelPredicate = Callable[[Mapping[str, Any]], bool]


def compile_selector(selector: LabelSelector) -> LabelPredicate:
    """A Kubernetes label selector as a predicate over a label map (empty selector: everything)."""
    required = tuple(selector.match_labels.items())
    expressions = tuple((e.key, e.operator, frozenset(e.values)) for e in selector.match_expressions)

    def holds(labels: Mapping[str, Any], key: str, operator: str, values: frozenset[str]) -> bool:
        if operator == "In":
            return labels.get(key) in values
        if operator == "NotIn":
            return labels.get(key) not in values
        return (key in labels) == (operator == "Exists")

    def matches(labels: Mapping[str, Any]) -> bool:
        return all(labels.get(k) == v for k, v in required) and all(
            holds(labels, key, op, values) for key, op, values in expressions
        )

    return matches


@dataclass(frozen=True, slots=True)
class Matcher:
    operations: frozenset[str]
    kinds: frozenset[str]
    namespaces: re.Pattern[str] | None
    excluded_namespaces: re.Pattern[str] | None
    namespace_selector: LabelPredicate | None
    object_selector: LabelPredicate | None

    @classmethod
    def compile(cls, spec: MatchSpec) -> Matcher:
        return cls(
            operations=frozenset(spec.operations),
            kinds=frozenset(spec.kinds),
            namespaces=glob_regex(spec.namespaces),
            excluded_namespaces=glob_regex(spec.excluded_namespaces),
            namespace_selector=compile_selector(spec.namespace_selector) if spec.namespace_selector else None,
            object_selector=compile_selector(spec.object_selector) if spec.object_selector else None,
        )

    def namespace_matches(self, namespace: str) -> bool:
        if self.namespaces is not None and not self.namespaces.fullmatch(namespace):
            return False
        return not (self.excluded_namespaces is not None and self.excluded_namespaces.fullmatch(namespace))


@dataclass(frozen=True, slots=True)
class Exempter:
    users: re.Pattern[str] | None
    groups: re.Pattern[str] | None
    service_accounts: re.Pattern[str] | None  # over "namespace:name"
    images: re.Pattern[str] | None  # over the normalised image reference

    @classmethod
    def compile(cls, spec: Exemptions) -> Exempter:
        return cls(
            users=glob_regex(spec.users),
            groups=glob_regex(spec.groups),
            service_accounts=glob_regex(spec.service_accounts),
            images=glob_regex(spec.images),
        )

    def exempts_user(self, username: str, groups: tuple[str, ...]) -> bool:
        if self.users is not None and self.users.fullmatch(username):
            return True
        if self.groups is not None and any(self.groups.fullmatch(g) for g in groups):
            return True
        if self.service_accounts is not None and username.startswith(SERVICE_ACCOUNT_PREFIX):
            return bool(self.service_accounts.fullmatch(username[len(SERVICE_ACCOUNT_PREFIX) :]))
        return False

    def exempts_image(self, image: str | None) -> bool:
        if self.images is None or not image:
            return False
        normalized = normalize_image(image)
        # An unparseable reference is never exempt: it cannot be shown to be what the pattern names.
        return normalized is not None and bool(self.images.fullmatch(normalized))


SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
