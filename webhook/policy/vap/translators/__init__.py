"""CEL translations of the built-in checks, for `podgate export vap`: one module per check.

Every public module here is imported, which registers its translator; adding the translation of a check
is adding a file `<check_id>.py`:

    @translator("no-root")
    def translate(params: Params) -> Translation:   # the check's own validated Params
        return Translation(
            variables=[ALL_CONTAINERS],                # shared variables, see _cel.py
            validations=[{"expression": "...", "message": "..."}],
        )

A translation must decide exactly as the check does on every well-formed pod: tests/test_vap_export.py
runs every fixture through both. When some parameter value has no exact CEL equivalent, raise
`Untranslatable(reason)`: the rule is left to the webhook and the export report says why. Expressions
read the pod through `variables.podSpec` (and `variables.podMetadata`), which the export defines.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...registry import CheckParams


@dataclass(frozen=True)
class Translation:
    validations: list[dict[str, Any]]
    variables: list[dict[str, str]] = field(default_factory=list)  # [{name, expression}], in order


class Untranslatable(Exception):
    """This rule (with these params) has no exact CEL equivalent; the message says why."""


Translate = Callable[[Any], Translation]
TRANSLATORS: dict[str, Translate] = {}


def translator(check_id: str) -> Callable[[Callable[[Any], Translation]], Callable[[Any], Translation]]:
    def register(translate: Callable[[Any], Translation]) -> Callable[[Any], Translation]:
        if check_id in TRANSLATORS:
            raise RuntimeError(f"translator for check {check_id!r} is registered twice")
        TRANSLATORS[check_id] = translate
        return translate

    return register


def translate(check_id: str, params: CheckParams) -> Translation:
    found = TRANSLATORS.get(check_id)
    if found is None:
        raise Untranslatable(f"check {check_id} has no CEL translation yet")
    return found(params)


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
