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
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
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

    def eval(self, prepared: Prepared, what: str) -> Any:
        if self.depth >= 2:
            longest = prepared.longest_collection()
            if longest**self.depth > MAX_ITERATIONS:
                raise CelEvaluationError(
                    f"{what} nests {self.depth} comprehensions over lists of up to {longest} items: "
                    f"more than {MAX_ITERATIONS:,} iterations, refused"
                )
        result = self.program.eval(prepared.activation)
        kind = result.type().name()
        if kind == "*error*" or kind == "ERROR" or str(result.type()) == "ERROR":
            raise CelEvaluationError(f"{what}: {_runtime_message(str(result.value()))}")
        return result.plain_value()


class Prepared:
    """One request's variables as a CEL activation, shared by the rules of the request.

    Converting Python values into CEL values is most of the cost of evaluating an expression (the
    activation converts lazily and keeps what it converted), so every rule without params of one
    request reuses the same activation (see `prepare`).
    """

    __slots__ = ("_longest", "activation", "data")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        # An Activation evaluates ~10x faster than eval(data=...), which converts on every call.
        self.activation = admission_env().Activation(data)
        self._longest: int | None = None

    def longest_collection(self) -> int:
        if self._longest is None:
            self._longest = max(longest_collection(v) for v in self.data.values())
        return self._longest


_last = threading.local()  # (request, pod, Prepared) of the request being judged, per thread


def prepare(request: Any, pod: PodView | None, params: Mapping[str, Any] | None) -> Prepared:
    if params is not None:  # params differ per rule: this rule's own activation
        return Prepared(activation_data(request, pod, params))
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0] is request and cached[1] is pod:
        prepared: Prepared = cached[2]
        return prepared
    prepared = Prepared(activation_data(request, pod, None))
    _last.entry = (request, pod, prepared)  # holds the request, so its identity cannot be reused
    return prepared


def compile_expression(
    source: str, path: str, problem: Problem, *, combined: bool = False
) -> Compiled | None:
    """Compile one expression; report a problem at `path` (with the CEL position) and return None on error.

    `combined`: a rule's program joining its expressions, each already held to the length limit (a
    policy with many validations, e.g. an exported Pod Security profile, may total more).
    """
    if not combined and len(source) > MAX_EXPRESSION_LENGTH:
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
    """The model rule for an expression rule, or None after reporting every compile problem.

    Every piece is compiled on its own first, so that an error names its own field and position. The
    rule then runs as one CEL program (variables bound with `cel.bind`, match conditions, every
    validation): one conversion of the request into CEL values and one call per rule, instead of one
    per expression, which is most of the cost of a small expression.
    """
    ok = True
    names: list[str] = []
    pieces: list[Compiled] = []
    for i, variable in enumerate(rule.variables):
        # A rule may define podSpec/podMetadata itself (an exported policy does): its definition wins.
        if variable.name in names:
            problem(f"{path}.variables[{i}].name", f"variable name {variable.name!r} is already defined")
            ok = False
        names.append(variable.name)
        compiled = compile_expression(variable.expression, f"{path}.variables[{i}].expression", problem)
        ok = ok and compiled is not None
        pieces += [compiled] if compiled else []
    for i, condition in enumerate(rule.match_conditions):
        compiled = compile_expression(
            condition.expression, f"{path}.matchConditions[{i}].expression", problem
        )
        ok = ok and compiled is not None
        pieces += [compiled] if compiled else []
    messages: list[Compiled | None] = []
    for i, validation in enumerate(rule.validations):
        here = f"{path}.validations[{i}]"
        compiled = compile_expression(validation.expression, f"{here}.expression", problem)
        ok = ok and compiled is not None
        pieces += [compiled] if compiled else []
        message = None
        if validation.message_expression is not None:
            message = compile_expression(validation.message_expression, f"{here}.messageExpression", problem)
            ok = ok and message is not None
        messages.append(message)
    if not ok:
        return None

    def program(body: str) -> Compiled:
        source = _with_variables(rule, body)
        compiled = compile_expression(source, path, problem, combined=True)
        if compiled is None:  # pragma: no cover - every piece compiled on its own
            raise AssertionError(f"rule {rule.name}: the combined program does not compile")
        return replace(compiled, depth=max(piece.depth for piece in pieces))

    conditions = " && ".join(f"({c.expression})" for c in rule.match_conditions) or "true"
    checks = ", ".join(f"dyn({v.expression})" for v in rule.validations)
    validations = tuple(
        _Validation(
            message=v.message or f"failed expression: {v.expression.strip()}",
            message_program=program(v.message_expression) if v.message_expression else None,
            field_path=v.field_path,
        )
        for v in rule.validations
    )
    evaluator = _RuleEvaluator(
        name=rule.name,
        program=program(f"({conditions}) ? [{checks}] : []"),
        validations=validations,
        params=rule.params,
    )
    return Rule(name=rule.name, check=CEL_CHECK, run=evaluator.without_request, run_request=evaluator)


def _with_variables(rule: ExpressionRule, body: str) -> str:
    """`body` inside `cel.bind` layers that define `variables`, each variable seeing the ones before.

    The built-in podSpec and podMetadata come in with the activation (computed by podspec.pod_view,
    which every check uses too); a rule's own definition of them replaces them.
    """
    defined = ["podSpec", "podMetadata"]
    layers = []
    for variable in rule.variables:
        keep = ", ".join(f"'{name}': variables.{name}" for name in defined if name != variable.name)
        layers.append(f"cel.bind(variables, {{{keep}, '{variable.name}': dyn({variable.expression})}}, ")
        if variable.name not in defined:
            defined.append(variable.name)
    return "".join(layers) + f"({body})" + ")" * len(layers)


@dataclass(frozen=True, slots=True)
class _Validation:
    message: str
    message_program: Compiled | None
    field_path: str | None


@dataclass(frozen=True, slots=True)
class _RuleEvaluator:
    name: str
    program: Compiled  # [] when a match condition is false, else one boolean per validation
    validations: tuple[_Validation, ...]
    params: Mapping[str, Any] | None

    def without_request(self, pod: PodView) -> Iterator[Finding]:
        """Used where only a pod is at hand (UPDATE diffs never call it: expression rules judge in full)."""
        from ..engine import Request

        return self(pod, Request(object=pod.node))

    def __call__(self, pod: PodView, request: Any) -> Iterator[Finding]:
        started = time.perf_counter()
        prepared = prepare(request, pod, self.params)
        results = self.program.eval(prepared, f"rule {self.name}")
        if not results:  # a match condition is false (a rule has at least one validation)
            return
        for i, (validation, passed) in enumerate(zip(self.validations, results, strict=True)):
            if not isinstance(passed, bool):
                raise CelEvaluationError(f"validation {i} returned {passed!r}, not a boolean")
            if not passed:
                yield Finding(
                    path=validation.field_path or pod.spec_path,
                    value=None,
                    problem=self._message(validation, prepared),
                    fix="",
                )
        elapsed = time.perf_counter() - started
        if elapsed > MAX_RULE_SECONDS:
            raise CelEvaluationError(
                f"rule {self.name} took {elapsed * 1000:.0f} ms,"
                f" more than the {MAX_RULE_SECONDS * 1000:.0f} ms bound"
            )

    @staticmethod
    def _message(validation: _Validation, prepared: Prepared) -> str:
        # As the API server does: a messageExpression that fails or gives an empty string falls back.
        if validation.message_program is not None:
            try:
                text = validation.message_program.eval(prepared, "messageExpression")
            except CelEvaluationError:
                text = None
            if isinstance(text, str) and text.strip() and "\n" not in text:
                return text
        return validation.message


def activation_data(request: Any, pod: PodView | None, params: Mapping[str, Any] | None) -> dict[str, Any]:
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
