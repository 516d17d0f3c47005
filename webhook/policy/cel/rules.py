"""Expression rules: CEL validations compiled once at load, evaluated per request.

The variables mean what they mean in a ValidatingAdmissionPolicy:

  object           the object of the request (a Pod, a Deployment, ...), null on DELETE
  oldObject        the object before an UPDATE, else null
  request          the admission request: operation, kind, name, namespace, userInfo, dryRun, subResource
  params           the rule's `params` object (the binding's paramRef, once imported), else null
  namespaceObject  the Namespace (name and labels, as podgate knows them), null for cluster objects or
                   when its labels are not known
  variables        the rule's `variables`, plus two podgate adds for every rule (unless the rule
                   defines them itself, as an exported policy does for the API server):
    variables.podSpec      the pod spec wherever it hides (Pod spec, template spec, CronJob job template)
    variables.podMetadata  the pod's metadata (the template's for controllers), {} when absent

`authorizer` is not available: podgate has no API server to ask. An expression naming it fails to load.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..document import ExpressionRule
from ..model import Rule
from ..podspec import PodView
from ..result import Finding
from .library import admission_env
from .limits import (
    MAX_COMPREHENSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_ITERATIONS,
    MAX_RULE_SECONDS,
    comprehension_depth,
    longest_collection,
)

BUILTIN_VARIABLES = ("podSpec", "podMetadata")
CEL_CHECK = "cel"  # the `check` id expression rules report in violations

Problem = Callable[[str, str], None]


class CelEvaluationError(Exception):
    """An expression could not be evaluated (a runtime error, a wrong result type, a cost bound)."""


@dataclass(frozen=True, slots=True)
class Compiled:
    source: str
    program: Any  # cel_expr_python Expression
    depth: int  # comprehension nesting, for the per-request cost bound

    def eval(self, data: Mapping[str, Any], what: str) -> Any:
        if self.depth >= 2:
            longest = max(longest_collection(v) for v in data.values())
            if longest**self.depth > MAX_ITERATIONS:
                raise CelEvaluationError(
                    f"{what} nests {self.depth} comprehensions over lists of up to {longest} items: "
                    f"more than {MAX_ITERATIONS:,} iterations, refused"
                )
        result = self.program.eval(data=data)
        kind = result.type().name()
        if kind == "*error*" or kind == "ERROR" or str(result.type()) == "ERROR":
            raise CelEvaluationError(f"{what}: {_runtime_message(str(result.value()))}")
        return result.plain_value()


def compile_expression(source: str, path: str, problem: Problem) -> Compiled | None:
    """Compile one expression; report a problem at `path` (with the CEL position) and return None on error."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        problem(path, f"expression is {len(source):,} characters long; at most {MAX_EXPRESSION_LENGTH:,}")
        return None
    depth = comprehension_depth(source)
    if depth > MAX_COMPREHENSION_DEPTH:
        problem(path, f"expression nests {depth} comprehensions; at most {MAX_COMPREHENSION_DEPTH}")
        return None
    try:
        program = admission_env().compile(source)
    except RuntimeError as exc:
        problem(path, f"CEL compile error {_compile_message(str(exc))}")
        return None
    return Compiled(source, program, depth)


def _compile_message(text: str) -> str:
    """cel-cpp's message, with `<input>:L:C:` spelled out and its status decorations removed."""
    text = re.sub(r"^\w+: ", "", text.strip())
    text = re.sub(r"\s*\[\w+\]$", "", text)
    text = re.sub(r"ERROR: <input>:(\d+):(\d+): ", r"at line \1, column \2: ", text)
    if "undeclared reference to 'authorizer'" in text:
        text = "(podgate has no API server: `authorizer` is not available) " + text
    return text.replace("\n | ", "\n    | ").replace("\nat line", "\n  at line")


def _runtime_message(text: str) -> str:
    return re.sub(r"^\w+: ", "", text)


def compile_rule(rule: ExpressionRule, path: str, problem: Problem) -> Rule | None:
    """The model rule for an expression rule, or None after reporting every compile problem."""
    ok = True
    variables: list[tuple[str, Compiled]] = []
    for i, variable in enumerate(rule.variables):
        # A rule may define podSpec/podMetadata itself (an exported policy does): its definition wins.
        if variable.name in (name for name, _ in variables):
            problem(f"{path}.variables[{i}].name", f"variable name {variable.name!r} is already defined")
            ok = False
        compiled = compile_expression(variable.expression, f"{path}.variables[{i}].expression", problem)
        if compiled is None:
            ok = False
        else:
            variables.append((variable.name, compiled))
    conditions = []
    for i, condition in enumerate(rule.match_conditions):
        compiled = compile_expression(
            condition.expression, f"{path}.matchConditions[{i}].expression", problem
        )
        ok = ok and compiled is not None
        if compiled is not None:
            conditions.append((condition.name, compiled))
    validations = []
    for i, validation in enumerate(rule.validations):
        here = f"{path}.validations[{i}]"
        compiled = compile_expression(validation.expression, f"{here}.expression", problem)
        message = None
        if validation.message_expression is not None:
            message = compile_expression(validation.message_expression, f"{here}.messageExpression", problem)
            ok = ok and message is not None
        ok = ok and compiled is not None
        if compiled is not None:
            static = validation.message or f"failed expression: {validation.expression.strip()}"
            validations.append(_Validation(compiled, static, message, validation.field_path))
    if not ok:
        return None
    evaluator = _RuleEvaluator(
        rule.name, tuple(variables), tuple(conditions), tuple(validations), rule.params
    )
    return Rule(name=rule.name, check=CEL_CHECK, run=evaluator.without_request, run_request=evaluator)


@dataclass(frozen=True, slots=True)
class _Validation:
    expression: Compiled
    message: str
    message_expression: Compiled | None
    field_path: str | None


@dataclass(frozen=True, slots=True)
class _RuleEvaluator:
    name: str
    variables: tuple[tuple[str, Compiled], ...]
    conditions: tuple[tuple[str, Compiled], ...]
    validations: tuple[_Validation, ...]
    params: Mapping[str, Any] | None

    def without_request(self, pod: PodView) -> Iterator[Finding]:
        """Used where only a pod is at hand (UPDATE diffs never call it: expression rules judge in full)."""
        from ..engine import Request

        return self(pod, Request(object=pod.node))

    def __call__(self, pod: PodView, request: Any) -> Iterator[Finding]:
        started = time.perf_counter()
        data = activation_data(pod, request, self.params)
        values: dict[str, Any] = data["variables"]
        for name, compiled in self.variables:
            values[name] = compiled.eval(data, f"variable {name}")
        for name, compiled in self.conditions:
            matched = compiled.eval(data, f"match condition {name}")
            if not isinstance(matched, bool):
                raise CelEvaluationError(f"match condition {name} returned {matched!r}, not a boolean")
            if not matched:
                return
        for i, validation in enumerate(self.validations):
            passed = validation.expression.eval(data, f"validation {i}")
            if not isinstance(passed, bool):
                raise CelEvaluationError(f"validation {i} returned {passed!r}, not a boolean")
            if not passed:
                yield Finding(
                    path=validation.field_path or pod.spec_path,
                    value=None,
                    problem=self._message(validation, data),
                    fix="",
                )
        elapsed = time.perf_counter() - started
        if elapsed > MAX_RULE_SECONDS:
            raise CelEvaluationError(
                f"rule {self.name} took {elapsed * 1000:.0f} ms,"
                f" more than the {MAX_RULE_SECONDS * 1000:.0f} ms bound"
            )

    @staticmethod
    def _message(validation: _Validation, data: Mapping[str, Any]) -> str:
        # As the API server does: a messageExpression that fails or gives an empty string falls back.
        if validation.message_expression is not None:
            try:
                text = validation.message_expression.eval(data, "messageExpression")
            except CelEvaluationError:
                text = None
            if isinstance(text, str) and text.strip() and "\n" not in text:
                return text
        return validation.message


def activation_data(pod: PodView | None, request: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The CEL variables for one request, as ValidatingAdmissionPolicy defines them."""
    obj = request.object
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    metadata = metadata if isinstance(metadata, Mapping) else {}
    kind = request.kind or (obj.get("kind") if isinstance(obj, Mapping) else None) or ""
    namespace = request.namespace or metadata.get("namespace") or ""
    api_version = str(obj.get("apiVersion") or "") if isinstance(obj, Mapping) else ""
    group, _, version = api_version.rpartition("/")
    namespace_object = None
    if namespace and request.namespace_labels is not None:
        namespace_object = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": dict(request.namespace_labels)},
        }
    return {
        "object": obj,
        "oldObject": request.old_object,
        "request": {
            "operation": request.operation,
            "kind": {"group": group, "version": version, "kind": kind},
            "name": metadata.get("name") or "",
            "namespace": namespace,
            "subResource": request.subresource,
            "userInfo": {"username": request.user.username, "groups": list(request.user.groups)},
            "dryRun": request.dry_run,
        },
        "params": params,
        "namespaceObject": namespace_object,
        "variables": {
            "podSpec": pod.spec if pod is not None else None,
            "podMetadata": pod.metadata if pod is not None else None,
        },
    }
