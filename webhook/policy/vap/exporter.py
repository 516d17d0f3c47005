"""podgate policies -> ValidatingAdmissionPolicy + Binding: a fail-closed floor for the API server.

What is exported must never deny what podgate allows (the API server runs it beside the webhook, and
alone while the webhook is down), so whatever has no exact CEL equivalent is left out, never
approximated, and the report says what and why:

- a rule whose check has no translator (or whose params have no exact translation), an expression rule
  with inline `params` (a native policy needs a params resource), mutations (validation only);
- a policy with image exemptions (they exempt single containers: CEL would judge the whole pod);
- UPDATE, unless the policy has `strictUpdates: true`: podgate judges only what an update introduces,
  which a whole-object expression does not reproduce. `pods/ephemeralcontainers` (kubectl debug),
  which podgate judges in full, is exported.

Everything else maps one to one: kinds and operations -> resourceRules, namespaces -> a namespace
selector on `kubernetes.io/metadata.name` (globs -> matchConditions on request.namespace), selectors as
they are, user/group/service-account exemptions -> matchConditions, actions -> validationActions,
failurePolicy as is. `variables.podSpec` and `variables.podMetadata` become the first two variables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..document import CheckRule, Exemptions, ExpressionRule, MatchSpec, PolicyDocument
from ..podspec import EPHEMERAL_CONTAINERS, KIND_RESOURCES
from ..registry import CHECKS
from .resources import POD_METADATA_CEL, POD_SPEC_CEL
from .translators import Untranslatable, translate

NAME_LABEL = "kubernetes.io/metadata.name"
PREFIX = "podgate-"
GLOB_CHARS = frozenset("*?[")


@dataclass(slots=True)
class ExportResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)  # "policy/rule"
    left_out: list[str] = field(default_factory=list)  # "policy/rule: why" or "policy: why"


def export_documents(policies: Iterable[PolicyDocument]) -> ExportResult:
    result = ExportResult()
    for doc in sorted(policies, key=lambda d: d.metadata.name):
        _export(doc, result)
    return result


def _export(doc: PolicyDocument, result: ExportResult) -> None:
    name, spec = doc.metadata.name, doc.spec
    if spec.exemptions.images:
        result.left_out.append(f"{name}: image exemptions apply per container; CEL would judge the whole pod")
        return
    if spec.mutations:
        result.left_out.append(
            f"{name}: mutations are not exported (a ValidatingAdmissionPolicy only validates)"
        )
    operations: list[str] = [op for op in spec.match.operations if spec.strict_updates or op == "CREATE"]
    if "UPDATE" in spec.match.operations and not spec.strict_updates:
        how = (
            "as Pod Security Admission does (podSecurityUpdates)"
            if spec.pod_security_updates
            else "only what an update introduces (strictUpdates: false)"
        )
        result.left_out.append(
            f"{name}: UPDATE (except kubectl debug) stays with the webhook: podgate judges {how}"
        )
    variables = [
        {"name": "podSpec", "expression": POD_SPEC_CEL},
        {"name": "podMetadata", "expression": POD_METADATA_CEL},
    ]
    validations: list[dict[str, Any]] = []
    for rule in spec.rules:
        rule_name = rule.name or (rule.check if isinstance(rule, CheckRule) else "")
        try:
            rule_variables, rule_validations = _rule(rule)
            _merge_variables(variables, rule_variables)
        except Untranslatable as exc:
            result.left_out.append(f"{name}/{rule_name}: {exc}")
            continue
        validations += rule_validations
        result.exported.append(f"{name}/{rule_name}")
    if not validations:
        result.left_out.append(f"{name}: no rule could be translated; not exported")
        return
    resource_rules = _resource_rules(spec.match, operations)
    if not resource_rules:
        result.left_out.append(f"{name}: matches no operation the export covers; not exported")
        return
    constraints: dict[str, Any] = {"resourceRules": resource_rules}
    namespace_selector, conditions = _namespaces(spec.match)
    if namespace_selector:
        constraints["namespaceSelector"] = namespace_selector
    if spec.match.object_selector is not None:
        constraints["objectSelector"] = spec.match.object_selector.model_dump(
            by_alias=True, exclude_defaults=True
        )
    conditions += _exemptions(spec.exemptions)
    if spec.pod_security_updates and not spec.strict_updates:
        conditions.append(SIGNIFICANT_EPHEMERAL_UPDATE)
    vap_name = f"{PREFIX}{name}"
    vap_spec: dict[str, Any] = {
        "failurePolicy": spec.failure_policy,
        "matchConstraints": constraints,
    }
    if conditions:
        vap_spec["matchConditions"] = conditions
    vap_spec["variables"] = variables
    vap_spec["validations"] = validations
    labels = {"app.kubernetes.io/managed-by": "podgate", "podgate.io/policy": name}
    result.documents.append(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": vap_name, "labels": labels},
            "spec": vap_spec,
        }
    )
    result.documents.append(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": vap_name, "labels": labels},
            "spec": {"policyName": vap_name, "validationActions": list(spec.actions)},
        }
    )


def _ephemeral(obj: str) -> str:
    field = f"{obj}.spec.ephemeralContainers"
    return f"(has({field}) && {field} != null ? {field} : [])"


# pod_updates.significant_pod_update for `kubectl debug` (pods/ephemeralcontainers, where only ephemeral
# containers can change): judged only when an ephemeral container is new or has a new image.
SIGNIFICANT_EPHEMERAL_UPDATE = {
    "name": "significant-ephemeral-update",
    "expression": "request.operation != 'UPDATE' || oldObject == null || "
    f"{_ephemeral('object')}.exists(c, !{_ephemeral('oldObject')}.exists(o, o.name == c.name"
    " && (has(o.image) ? o.image : '') == (has(c.image) ? c.image : '')))",
}


def _rule(rule: CheckRule | ExpressionRule) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    if isinstance(rule, CheckRule):
        check = CHECKS.get(rule.check)
        if check is None:
            raise Untranslatable(f"unknown check {rule.check}")
        translation = translate(rule.check, check.params.model_validate(rule.params))
        return translation.variables, translation.validations
    if rule.params is not None:
        raise Untranslatable("inline params have no native equivalent (a params resource and paramRef)")
    guard = " && ".join(f"({c.expression})" for c in rule.match_conditions)
    validations = []
    for validation in rule.validations:
        out = validation.model_dump(by_alias=True, exclude_none=True)
        if guard:  # rule-level match conditions: the validation holds where they do not
            out["expression"] = f"!({guard}) || ({validation.expression})"
        validations.append(out)
    variables = [{"name": v.name, "expression": v.expression} for v in rule.variables]
    return variables, validations


def _merge_variables(into: list[dict[str, str]], more: list[dict[str, str]]) -> None:
    known = {v["name"]: v["expression"] for v in into}
    for variable in more:
        if variable["name"] in known and known[variable["name"]] != variable["expression"]:
            raise Untranslatable(f"variable {variable['name']} is defined differently by another rule")
    for variable in more:
        if variable["name"] not in known:
            into.append(dict(variable))
            known[variable["name"]] = variable["expression"]


def _resource_rules(match: MatchSpec, operations: list[str]) -> list[dict[str, Any]]:
    by_group: dict[str, list[str]] = {}
    for kind in sorted(match.kinds):
        group, _, resource = KIND_RESOURCES[kind]
        by_group.setdefault(group, []).append(resource)
    rules = []
    if operations:
        for group, resources in sorted(by_group.items()):
            rules.append(
                {"apiGroups": [group], "apiVersions": ["*"], "operations": operations, "resources": resources}
            )
    if "Pod" in match.kinds and "UPDATE" in match.operations and "UPDATE" not in operations:
        rules.append(
            {
                "apiGroups": [""],
                "apiVersions": ["*"],
                "operations": ["UPDATE"],
                "resources": [EPHEMERAL_CONTAINERS],
            }
        )
    return rules


def _namespaces(match: MatchSpec) -> tuple[dict[str, Any], list[dict[str, str]]]:
    selector: dict[str, Any] = {}
    if match.namespace_selector is not None:
        selector = match.namespace_selector.model_dump(by_alias=True, exclude_defaults=True)
    expressions = list(selector.get("matchExpressions", []))
    conditions = []
    for patterns, operator in ((match.namespaces, "In"), (match.excluded_namespaces, "NotIn")):
        literal = [p for p in patterns if not GLOB_CHARS & set(p)]
        globs = [p for p in patterns if GLOB_CHARS & set(p)]
        if operator == "In" and patterns:
            # Any of the names or any of the globs: one condition covers both.
            tests = [f"request.namespace == {json.dumps(n)}" for n in literal]
            tests += [f"request.namespace.matches({json.dumps(glob_to_re2(g))})" for g in globs]
            conditions.append({"name": "namespaces", "expression": " || ".join(tests)})
        elif operator == "NotIn":
            if literal:
                expressions.append({"key": NAME_LABEL, "operator": "NotIn", "values": literal})
            for i, glob in enumerate(globs):
                pattern = json.dumps(glob_to_re2(glob))
                conditions.append(
                    {
                        "name": f"excluded-namespaces-{i}",
                        "expression": f"!request.namespace.matches({pattern})",
                    }
                )
    if expressions:
        selector["matchExpressions"] = expressions
    return selector, conditions


def _exemptions(exemptions: Exemptions) -> list[dict[str, str]]:
    conditions = []
    if exemptions.users:
        users = " || ".join(
            f"request.userInfo.username.matches({json.dumps(glob_to_re2(u))})" for u in exemptions.users
        )
        conditions.append({"name": "exempt-users", "expression": f"!({users})"})
    if exemptions.groups:
        groups = " || ".join(f"g.matches({json.dumps(glob_to_re2(g))})" for g in exemptions.groups)
        conditions.append(
            {"name": "exempt-groups", "expression": f"!request.userInfo.groups.exists(g, {groups})"}
        )
    if exemptions.service_accounts:
        accounts = " || ".join(
            f"request.userInfo.username.matches({json.dumps(glob_to_re2('system:serviceaccount:' + a))})"
            for a in exemptions.service_accounts
        )
        conditions.append({"name": "exempt-service-accounts", "expression": f"!({accounts})"})
    return conditions


def glob_to_re2(glob: str) -> str:
    """A shell glob as an anchored RE2 pattern for CEL's `matches`, with fnmatch's exact reading.

    Bracket expressions follow fnmatch.translate (a `]` first in the set is literal, `!` negates, an
    unclosed `[` is literal, reversed ranges are dropped); every literal is written as `\\x{..}`.
    """
    out, i, n = ["^"], 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(_hex("["))
                continue
            out.append(_bracket(glob[i:j]))
            i = j + 1
        else:
            out.append(_hex(c))
    out.append("$")
    return "".join(out)


def _bracket(body: str) -> str:
    """The set `[body]` as fnmatch.translate reads it, step for step: it splits the body (its `!` included)
    into chunks between range hyphens, drops reversed ranges, and only then tests for a leading `!`, so a
    dropped range can leave a negation (`[?-.!]` matches any character)."""
    if "-" not in body:
        chunks = [body]
    else:
        chunks = []
        start, k = 0, (2 if body.startswith("!") else 1)
        while True:
            k = body.find("-", k)
            if k < 0:
                break
            chunks.append(body[start:k])
            start, k = k + 1, k + 3
        if body[start:]:
            chunks.append(body[start:])
        else:
            chunks[-1] += "-"
        for k in range(len(chunks) - 1, 0, -1):
            if chunks[k - 1][-1] > chunks[k][0]:
                chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                del chunks[k]
    if chunks == [""]:
        return "[^\\x{0}-\\x{10FFFF}]"  # an empty set matches nothing
    if chunks == ["!"]:
        return "[\\x{0}-\\x{10FFFF}]"  # a negated empty set matches any character
    negate = chunks[0].startswith("!")
    if negate:
        chunks[0] = chunks[0][1:]
        if not chunks[0]:  # `[^-b]`: the hyphen after the negation is a literal, not a range
            chunks = ["-" + chunks[1], *chunks[2:]]
    parts = []
    for index, chunk in enumerate(chunks):
        text = "".join(_hex(ch) for ch in chunk)
        parts.append(text if index == 0 else "-" + text)
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def _hex(char: str) -> str:
    return char if char.isalnum() and char.isascii() else f"\\x{{{ord(char):x}}}"
