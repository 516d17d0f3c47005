"""ValidatingAdmissionPolicy + Binding (+ params objects) -> podgate policies with expression rules.

Each binding becomes one podgate policy named after the binding, judging what the API server would:

- `validationActions` -> `actions`; the policy's `failurePolicy` (default Fail) -> `failurePolicy`;
- `matchConstraints` and the binding's `matchResources` (both must match) -> `match`: resource rules
  become kinds and operations (podgate judges pod-bearing kinds on CREATE and UPDATE only: other
  resources and operations are left out, and said so in the notes), selectors are combined;
- the policy's `variables`, `matchConditions` and `validations` -> one expression rule, judged in
  full on UPDATE (`strictUpdates: true`), as the API server does;
- `paramRef` -> the params object(s) found among the documents: by name, or every object the
  selector picks (one rule each, all must pass); none found: `parameterNotFoundAction` Deny gives a
  rule that denies, Allow leaves the binding out.

Pure: documents in, policy documents (plain dicts, as a `kind: Policy` file holds them) out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..podspec import EPHEMERAL_CONTAINERS
from .resources import RESOURCE_KINDS

VAP_GROUP = "admissionregistration.k8s.io/"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
JUDGED = ("CREATE", "UPDATE")


@dataclass(frozen=True, slots=True)
class SourceDocument:
    document: Mapping[str, Any]
    file: str
    index: int


@dataclass(slots=True)
class Imported:
    policy: dict[str, Any]  # a podgate `kind: Policy` document
    source: SourceDocument  # the ValidatingAdmissionPolicy it came from (compile errors point there)
    binding: SourceDocument


@dataclass(slots=True)
class ImportResult:
    policies: list[Imported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    unused: list[SourceDocument] = field(default_factory=list)  # neither a VAP, a binding nor params


Problem = Callable[[SourceDocument, str, str], None]


def is_vap_document(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and str(document.get("apiVersion", "")).startswith(VAP_GROUP)
        and document.get("kind") in (POLICY_KIND, BINDING_KIND)
    )


def import_documents(documents: Sequence[SourceDocument], problem: Problem) -> ImportResult:
    result = ImportResult()
    policies: dict[str, SourceDocument] = {}
    bindings: list[SourceDocument] = []
    others: list[SourceDocument] = []
    for source in documents:
        doc = source.document
        name = _get(doc, "metadata", "name")
        if is_vap_document(doc) and not isinstance(name, str):
            problem(source, "metadata.name", "required field is missing")
        elif is_vap_document(doc) and doc.get("kind") == POLICY_KIND:
            if name in policies:
                problem(source, "metadata.name", f"ValidatingAdmissionPolicy {name!r} is defined twice")
            policies[str(name)] = source
        elif is_vap_document(doc):
            bindings.append(source)
        else:
            others.append(source)
    used: set[int] = set()
    for binding in bindings:
        _import_binding(binding, policies, others, used, result, problem)
    bound = {_get(b.document, "spec", "policyName") for b in bindings}
    for name, source in policies.items():
        if name not in bound:
            result.notes.append(
                f"{source.file}: ValidatingAdmissionPolicy {name!r} has no binding: not judged"
            )
    result.unused = [o for o in others if id(o) not in used]
    return result


def _import_binding(
    binding: SourceDocument,
    policies: Mapping[str, SourceDocument],
    others: Sequence[SourceDocument],
    used: set[int],
    result: ImportResult,
    problem: Problem,
) -> None:
    bdoc = binding.document
    name = str(_get(bdoc, "metadata", "name"))
    bspec = _mapping(bdoc.get("spec"))
    policy_name = bspec.get("policyName")
    source = policies.get(policy_name) if isinstance(policy_name, str) else None
    if source is None:
        problem(binding, "spec.policyName", f"no ValidatingAdmissionPolicy named {policy_name!r} was given")
        return
    pspec = _mapping(source.document.get("spec"))
    actions = bspec.get("validationActions")
    if not isinstance(actions, list) or not actions:
        problem(binding, "spec.validationActions", "required: a non-empty list of Deny, Warn, Audit")
        return
    matched = _match(source, binding, result, problem)
    if matched is None:
        return
    match, conditions = matched
    rule: dict[str, Any] = {"name": policy_name}
    for key in ("variables", "matchConditions", "validations"):
        if pspec.get(key):
            rule[key] = pspec[key]
    if conditions:
        rule["matchConditions"] = [*(pspec.get("matchConditions") or []), *conditions]
    if pspec.get("auditAnnotations"):
        result.notes.append(f"{binding.file}: binding {name}: auditAnnotations are not supported; left out")
    rules = _with_params(rule, source, binding, others, used, result, problem)
    if rules is None:
        return
    policy = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "Policy",
        "metadata": {
            "name": name,
            "annotations": {"podgate.io/imported-from": f"{POLICY_KIND}/{policy_name}"},
        },
        "spec": {
            "description": f"ValidatingAdmissionPolicy {policy_name}, bound by {name}.",
            "remediation": "Correct what the validation messages name.",
            "actions": actions,
            "failurePolicy": pspec.get("failurePolicy", "Fail"),
            "strictUpdates": True,
            "match": match,
            "rules": rules,
        },
    }
    result.policies.append(Imported(policy, source, binding))


def _with_params(
    rule: dict[str, Any],
    source: SourceDocument,
    binding: SourceDocument,
    others: Sequence[SourceDocument],
    used: set[int],
    result: ImportResult,
    problem: Problem,
) -> list[dict[str, Any]] | None:
    param_kind = _mapping(_get(source.document, "spec", "paramKind"))
    param_ref = _mapping(_get(binding.document, "spec", "paramRef"))
    if not param_kind:
        return [rule]
    if not param_ref:
        problem(binding, "spec.paramRef", f"the policy has a paramKind ({param_kind.get('kind')}): required")
        return None
    wanted_name = param_ref.get("name")
    wanted_namespace = param_ref.get("namespace")
    selector = param_ref.get("selector")
    found = []
    for other in others:
        doc = other.document
        if doc.get("kind") != param_kind.get("kind") or doc.get("apiVersion") != param_kind.get("apiVersion"):
            continue
        metadata = _mapping(doc.get("metadata"))
        if wanted_namespace is not None and metadata.get("namespace") != wanted_namespace:
            continue
        if wanted_namespace is None and metadata.get("namespace"):
            problem(
                binding,
                "spec.paramRef.namespace",
                "params are namespaced: give paramRef.namespace"
                " (podgate resolves params at load, not per request)",
            )
            return None
        if wanted_name is not None and metadata.get("name") != wanted_name:
            continue
        if wanted_name is None and not _selects(_mapping(selector), _mapping(metadata.get("labels"))):
            continue
        found.append(other)
    binding_name = _get(binding.document, "metadata", "name")
    if not found:
        if param_ref.get("parameterNotFoundAction") == "Deny":
            return [
                {
                    "name": rule["name"],
                    "validations": [
                        {
                            "expression": "false",
                            "message": f"no params object for binding {binding_name} "
                            "(parameterNotFoundAction: Deny)",
                        }
                    ],
                }
            ]
        result.notes.append(
            f"{binding.file}: binding {binding_name}: no params object found; binding left out"
        )
        return None
    rules = []
    for other in found:
        used.add(id(other))
        param_name = str(_get(other.document, "metadata", "name"))
        named = rule["name"] if len(found) == 1 else f"{rule['name']}-{param_name}"
        rules.append({**rule, "name": named, "params": dict(other.document)})
    return rules


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    for key, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and labels.get(key) in values)
            or (operator == "Exists" and key not in labels)
            or (operator == "DoesNotExist" and key in labels)
        ):
            return False
    return True


Triple = tuple[str, str, str]  # (kind, subresource, operation), as the engine sees a request


def _match(
    source: SourceDocument, binding: SourceDocument, result: ImportResult, problem: Problem
) -> tuple[dict[str, Any], list[dict[str, str]]] | None:
    """podgate's `match` for the intersection of the policy's matchConstraints and the binding's.

    When the resource rules pick operations or the ephemeralcontainers subresource per kind (which a
    podgate `match` cannot say), a match condition on the request says it exactly.
    """
    constraints = _mapping(_get(source.document, "spec", "matchConstraints"))
    resources = _mapping(_get(binding.document, "spec", "matchResources"))
    triples = _triples(constraints, source, "spec.matchConstraints", result, problem)
    if triples is None:
        return None
    if resources.get("resourceRules"):
        binding_side = _triples(resources, binding, "spec.matchResources", result, problem)
        if binding_side is None:
            return None
        triples &= binding_side
    for side in (constraints, resources):
        for excluded in side.get("excludeResourceRules") or []:
            triples -= _rule_triples(excluded)
    kinds = {kind for kind, _, _ in triples}
    operations = {op for _, _, op in triples}
    if not triples:
        problem(
            source,
            "spec.matchConstraints.resourceRules",
            "matches no pod-bearing kind on CREATE or UPDATE, which is all podgate judges",
        )
        return None
    match: dict[str, Any] = {"operations": sorted(operations), "kinds": sorted(kinds)}
    for key in ("namespaceSelector", "objectSelector"):
        merged = _merge_selectors([_mapping(constraints.get(key)), _mapping(resources.get(key))])
        if merged:
            match[key] = merged
    full = {(k, sub, op) for k in kinds for op in operations for sub in _subresources(k)}
    conditions = []
    if triples != full:
        conditions.append({"name": "resource-rules", "expression": _resource_condition(triples)})
    return match, conditions


def _resource_condition(triples: set[Triple]) -> str:
    """A match condition true exactly on requests for one of `triples`.

    One clause per (subresource, operation), most common first: `request.subResource == ''` and
    `request.operation == 'CREATE'` cost a compare each, where building `kind/subResource/operation`
    to look it up costs several. A clause tests no kind when it holds for every kind that can send that
    subresource among the match's `kinds` (the kinds of `triples`): only those reach the condition.
    """
    matched = {kind for kind, _, _ in triples}
    by_request: dict[tuple[str, str], set[str]] = {}
    for kind, subresource, operation in triples:
        by_request.setdefault((subresource, operation), set()).add(kind)
    clauses = []
    for (subresource, operation), kinds in sorted(by_request.items()):
        tests = [f"request.subResource == '{subresource}'", f"request.operation == '{operation}'"]
        if kinds != {kind for kind in matched if subresource in _subresources(kind)}:
            listed = ", ".join(f"'{kind}'" for kind in sorted(kinds))
            tests.append(f"request.kind.kind in [{listed}]")
        clauses.append(" && ".join(tests))
    return " || ".join(f"({clause})" for clause in clauses)


def _subresources(kind: str) -> tuple[str, ...]:
    return ("", "ephemeralcontainers") if kind == "Pod" else ("",)


def _triples(
    spec: Mapping[str, Any], source: SourceDocument, path: str, result: ImportResult, problem: Problem
) -> set[Triple] | None:
    rules = spec.get("resourceRules")
    if not isinstance(rules, list) or not rules:
        problem(source, f"{path}.resourceRules", "required: the resources the policy applies to")
        return None
    found: set[Triple] = set()
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            problem(source, f"{path}.resourceRules[{i}]", "must be a mapping")
            return None
        if rule.get("resourceNames"):
            problem(source, f"{path}.resourceRules[{i}].resourceNames", "not supported by podgate")
            return None
        found |= _rule_triples(rule)
        known = {r for _, r in RESOURCE_KINDS} | {EPHEMERAL_CONTAINERS}
        ignored = sorted(r for r in rule.get("resources") or [] if r not in known and "*" not in r)
        if ignored:
            result.notes.append(
                f"{source.file}: {path}.resourceRules[{i}]: {', '.join(ignored)}:"
                " no pod spec, not judged by podgate"
            )
    return found


def _rule_triples(rule: Mapping[str, Any]) -> set[Triple]:
    groups = rule.get("apiGroups") or [""]
    resources = rule.get("resources") or []
    operations = [op for op in rule.get("operations") or ["*"] if op in ("*", *JUDGED)]
    ops = set(JUDGED) if "*" in operations else set(operations)
    found: set[Triple] = set()
    for (group, resource), kind in RESOURCE_KINDS.items():
        if "*" not in groups and group not in groups:
            continue
        for wanted in resources:
            main, _, sub = wanted.partition("/")
            if main not in ("*", resource):
                continue
            subs = [""] if not sub else ([s for s in _subresources(kind) if s] if sub == "*" else [sub])
            for subresource in subs:
                if subresource in _subresources(kind):
                    found |= {(kind, subresource, op) for op in ops}
    return found


def _merge_selectors(selectors: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Both selectors must match: the union of their requirements (a key given two values never matches)."""
    labels: dict[str, Any] = {}
    expressions: list[Any] = []
    for selector in selectors:
        for key, value in _mapping(selector.get("matchLabels")).items():
            if key in labels and labels[key] != value:
                expressions.append({"key": key, "operator": "In", "values": [value]})
            else:
                labels[key] = value
        expressions.extend(selector.get("matchExpressions") or [])
    merged: dict[str, Any] = {}
    if labels:
        merged["matchLabels"] = labels
    if expressions:
        merged["matchExpressions"] = expressions
    return merged


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, Mapping) else None
    return doc
