"""Warnings for CEL field selections the Kubernetes schema does not have, as the API server's type check
reports them in a ValidatingAdmissionPolicy's `status.typeChecking`.

podgate's CEL is dynamically typed, so `c.imag` compiles and fails only at run time ("no such key").
The API server checks each expression against the schema of every kind the policy matches and warns
per kind; podgate names an `object` path only when no matched kind has it (see `expression_findings`).
What an expression selects is its demand tree (demand.py), walked against the typed models of the
`kubernetes` client (`openapi_types`, `attribute_map`). Where the tree loses the path (FULL, a
computed key) or the schema is open (`object`, a map, a kind the client does not know) nothing
below is checked: an unknown costs a missed warning, never a false one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ..loader import Problem, policy_files
from ..podspec import KIND_RESOURCES, POD_KINDS
from ..yamlio import load_documents
from .ast import UnknownSyntax, checked_expression
from .demand import Demand, Elements, Fields, demands
from .library import admission_env

_ROOTS = ("object", "oldObject", "namespaceObject", "variables")
# The client writes these `List[X]` / `Dict[str, X]` (older versions: `list[X]` / `dict(str, X)`).
_LIST = re.compile(r"[Ll]ist\[(.*)\]$")
_MAP = re.compile(r"(?:Dict\[str, |dict\(str, )(.*)[\])]$")


@cache
def _model(type_name: str) -> Any:
    """The client's model class named `type_name` (None for a scalar, `object` or an unknown name)."""
    from kubernetes.client import models  # imported here: only lint needs it (~0.2 s)

    return getattr(models, type_name, None)


def kind_type(kind: str) -> str:
    """The model type of a pod-bearing kind's object, e.g. Deployment -> V1Deployment (all are v1)."""
    return f"V1{kind}"


def missing(type_name: str, demand: Demand, path: str) -> Iterator[str]:
    """Each selection `demand` makes that the schema `type_name` does not have, as the path selected."""
    if isinstance(demand, Elements):
        element = _LIST.match(type_name)
        if element:
            yield from missing(element.group(1), demand.each, path + "[]")
        return
    if not isinstance(demand, Fields):
        return
    value = _MAP.match(type_name)
    if value:  # any key is allowed
        for key, sub in demand.keys:
            yield from missing(value.group(1), sub, f"{path}[{key!r}]")
        return
    model = _model(type_name)
    if model is None:
        return
    types = {json: model.openapi_types[attr] for attr, json in model.attribute_map.items()}
    for key, sub in demand.keys:
        if key not in types:
            yield f"{path}.{key}"
        else:
            yield from missing(types[key], sub, f"{path}.{key}")


def expression_findings(source: str, kinds: list[str], pod_variables: bool) -> list[str]:
    """Each undefined field `source` selects. `object`/`oldObject` paths are named only when no matched
    kind has them: checking per kind, as the API server does, would flag every kind-guarded branch
    (`object.kind == 'CronJob' ? object.spec.jobTemplate... : ...`), which podgate's exports use.
    `variables.podSpec`/`podMetadata` are checked when podgate defines them (`pod_variables`)."""
    try:
        root = checked_expression(admission_env().compile(source).serialize())
    except (RuntimeError, UnknownSyntax):  # a compile error is the loader's; an unreadable tree: skip
        return []
    found = demands(root, _ROOTS)
    roots: list[tuple[str, Demand, str]] = [("V1Namespace", found.get("namespaceObject"), "namespaceObject")]
    variables = found.get("variables")
    if pod_variables and isinstance(variables, Fields):
        roots += [("V1PodSpec", variables.get("podSpec"), "variables.podSpec")]
        roots += [("V1ObjectMeta", variables.get("podMetadata"), "variables.podMetadata")]
    findings = [f"undefined field {p!r}" for t, d, name in roots for p in missing(t, d, name)]
    for name in ("object", "oldObject"):
        per_kind = [set(missing(kind_type(kind), found.get(name), name)) for kind in kinds]
        for path in sorted(set.intersection(*per_kind) if per_kind else set()):
            if len(kinds) == 1:
                group, version, _ = KIND_RESOURCES[kinds[0]]
                where = f"{group}/{version}" if group else version
                finding = f"{where}, Kind={kinds[0]}: undefined field {path!r}"
            else:
                finding = f"undefined field {path!r} in every matched kind ({', '.join(kinds)})"
            if pod_variables and "Pod" not in kinds and _is_pod_spec_field(path, name):
                finding += "; the pod spec is variables.podSpec"
            findings.append(finding)
    return findings


def _is_pod_spec_field(path: str, root: str) -> bool:
    """Whether `path` reads a pod spec field at `root.spec` (a Pod's place, not a controller's)."""
    head, _, rest = path.partition(f"{root}.spec.")
    key = rest.split(".")[0].split("[")[0]
    return not head and key in _model("V1PodSpec").attribute_map.values()


def schema_warnings(*paths: str | os.PathLike[str]) -> list[Problem]:
    """A warning per expression of the policy files under `paths` that selects a field the schema of
    a matched kind does not have (files that do not load are skipped: the loader reports them)."""
    warnings: list[Problem] = []
    for file in policy_files(paths):
        try:
            documents = load_documents(file)
        except Exception:  # reported by load_policies, with its reason
            continue
        for index, document in enumerate(documents):
            for path, findings in _document_findings(document):
                message = "warning: type check: " + "; ".join(findings)
                warnings.append(Problem(str(file), index, path, message))
    return warnings


def _document_findings(document: Any) -> Iterator[tuple[str, list[str]]]:
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        return
    spec = document["spec"]
    if document.get("kind") == "ValidatingAdmissionPolicy":
        yield from _owner_findings(spec, "spec", _vap_kinds(spec), podgate=False)
    elif document.get("kind") == "Policy" and isinstance(spec.get("rules"), list):
        match = spec.get("match")
        kinds = match.get("kinds") if isinstance(match, dict) else None
        kinds = sorted(POD_KINDS) if kinds is None else [k for k in kinds if k in POD_KINDS]
        for i, rule in enumerate(spec["rules"]):
            if isinstance(rule, dict) and "validations" in rule:
                yield from _owner_findings(rule, f"spec.rules[{i}]", kinds, podgate=True)


def _vap_kinds(spec: dict[str, Any]) -> list[str]:
    """The pod-bearing kinds a VAP's resourceRules name; a kind named otherwise (a CRD, a wildcard)
    is not checked."""
    kinds: set[str] = set()
    constraints = spec.get("matchConstraints")
    rules = constraints.get("resourceRules") if isinstance(constraints, dict) else None
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        named = [rule.get(key) or [] for key in ("apiGroups", "apiVersions", "resources")]
        for kind, parts in KIND_RESOURCES.items():
            if all(part in values or "*" in values for part, values in zip(parts, named, strict=True)):
                kinds.add(kind)
    return sorted(kinds)


def _owner_findings(
    owner: dict[str, Any], where: str, kinds: list[str], podgate: bool
) -> Iterator[tuple[str, list[str]]]:
    variables = owner.get("variables")
    own = {v.get("name") for v in variables if isinstance(v, dict)} if isinstance(variables, list) else set()
    pod_variables = podgate and not own & {"podSpec", "podMetadata"}  # a rule's own definition wins
    for group, key in (
        ("variables", "expression"),
        ("matchConditions", "expression"),
        ("validations", "expression"),
        ("validations", "messageExpression"),
    ):
        items = owner.get(group)
        for i, item in enumerate(items if isinstance(items, list) else []):
            source = item.get(key) if isinstance(item, dict) else None
            if isinstance(source, str):
                findings = expression_findings(source, kinds, pod_variables)
                if findings:
                    yield f"{where}.{group}[{i}].{key}", findings
