"""Warnings for expressions whose shape lets cel-expr-python's stale `cel.bind` bug show (stale_bind.py).

podgate keeps its own constructions clear of it (a rule's validations run apart when joining them would
trigger it; the export translators avoid the shape), but an expression a user wrote is run as written:
`podgate lint` names each one, where it is, and how to rewrite it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..loader import Problem, policy_files
from ..yamlio import load_documents
from .library import admission_env
from .stale_bind import StaleBind, program_hazards

WORKAROUND = (
    "move the cel.bind outward (around the comprehension) or before it; see docs/cel.md, Known runtime issue"
)


Found = Iterator[tuple[str, list[StaleBind]]]  # (field path, the hazards of the expression there)


def stale_bind_warnings(*paths: str | os.PathLike[str]) -> list[Problem]:
    """A warning per expression of the policy files under `paths` with the hazardous shape (files that
    do not load are the loader's business: they are skipped here)."""
    warnings: list[Problem] = []
    for file in policy_files(paths):
        try:
            documents = load_documents(file)
        except Exception:  # reported by load_policies, with its reason
            continue
        for index, document in enumerate(documents):
            for path, found in _document_hazards(document):
                warnings.append(Problem(str(file), index, path, _message(found)))
    return warnings


def _message(found: list[StaleBind]) -> str:
    names = ", ".join(
        f"cel.bind({h.name}, ...) may read {h.stopped!r} of an earlier all()/exists()" for h in found
    )
    return (
        f"warning: {names} that stopped early: podgate's CEL runtime (cel-expr-python) then gives the "
        "comprehension's variable instead of the bound value (the API server's cel-go is right); "
        + WORKAROUND
    )


def _document_hazards(document: Any) -> Found:
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        return
    spec = document["spec"]
    if document.get("kind") == "ValidatingAdmissionPolicy":
        yield from _expression_hazards(spec, "spec")
    elif document.get("kind") == "Policy" and isinstance(spec.get("rules"), list):
        for i, rule in enumerate(spec["rules"]):
            if isinstance(rule, dict) and "validations" in rule:
                yield from _expression_hazards(rule, f"spec.rules[{i}]")


def _expression_hazards(owner: dict[str, Any], where: str) -> Found:
    """Each expression is analysed alone. The rule's variables, bound around it when the rule runs,
    add no hazard (each layer's body is planned after the slots of its value, see stale_bind.py), and
    a hazard inside a variable's value is named once, at that variable."""
    fields = [
        ("variables", "expression"),
        ("matchConditions", "expression"),
        ("validations", "expression"),
        ("validations", "messageExpression"),
    ]
    for group, key in fields:
        items = owner.get(group)
        for i, item in enumerate(items if isinstance(items, list) else []):
            source = item.get(key) if isinstance(item, dict) else None
            if not isinstance(source, str):
                continue
            found = _hazards(source)
            if found:
                yield f"{where}.{group}[{i}].{key}", found


def _hazards(source: str) -> list[StaleBind]:
    try:
        program = admission_env().compile(source)
    except RuntimeError:  # a compile error: the loader reports it
        return []
    return program_hazards(program)
