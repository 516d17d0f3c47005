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
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

from ..document import ExpressionRule
from ..model import Rule, RuleEvaluationError
from ..podspec import PodView
from ..result import Finding
from .ast import UnknownSyntax, checked_expression
from .demand import FULL, Demand, Fields, demands, join, prune, pruner
from .library import ADMISSION_VARIABLES, BOUND_PREFIX, admission_env
from .limits import (
    MAX_COMPREHENSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_ITERATIONS,
    MAX_RULE_SECONDS,
    RUNTIME_ITERATIONS,
    code_tokens,
    comprehension_depth,
    longest_collection,
)
from .stale_bind import SeparatePrograms, may_share_a_slot
from .to_python import NOT_PLAIN, UNMEASURED, FastProgram, checker, compile_fast, encodes

BUILTIN_VARIABLES = ("podSpec", "podMetadata")
# Evaluate programs with their Python fast path (to_python.py) where they have one. A switch for
# benchmarks and tests that compare with the real program; the results are the same either way.
FAST_PATH = True
CEL_CHECK = "cel"  # the `check` id expression rules report in violations

Problem = Callable[[str, str], None]


class CelEvaluationError(RuleEvaluationError):
    """An expression could not be evaluated (a runtime error, a wrong result type, a cost bound)."""


Demands = tuple[tuple[str, Demand], ...]  # per global variable it references, sorted; see demand.py
Checks = tuple[tuple[str, Callable[[Any], int]], ...]  # per variable, its to_python.checker
EVERYTHING: Demands = tuple((name, FULL) for name in ADMISSION_VARIABLES)  # when the analysis gives up


@dataclass(frozen=True, slots=True)
class Compiled:
    source: str
    program: Any  # cel_expr_python Expression
    depth: int  # comprehension nesting, for the per-request cost bound
    demands: Demands = EVERYTHING  # what of each variable the program can observe
    fast: FastProgram | None = None  # the same program as Python, for plain values (to_python.py)
    stale_binds: bool = False  # may cel-expr-python read a stale `cel.bind` here? (stale_bind.py)

    def check_bound(self, prepared: Prepared) -> None:
        """The per-request cost bound (limits.py), on the values the program can observe."""
        if self.depth >= 2:
            longest = prepared.longest_collection()
            if longest**self.depth > MAX_ITERATIONS:
                raise CelEvaluationError(
                    f"nests {self.depth} comprehensions over lists of up to {longest} items: "
                    f"more than {MAX_ITERATIONS:,} iterations, refused"
                )

    def eval(self, prepared: Prepared) -> Any:
        """The program's value; CelEvaluationError (worded: the engine names the policy and rule)
        where the bound, the runtime or the program refuses."""
        self.check_bound(prepared)
        try:
            result = prepared.run(self.program)
        except RuntimeError as exc:  # the runtime's own refusal, e.g. its iteration budget (limits.py)
            raise CelEvaluationError(_runtime_failure(str(exc))) from None
        value = result.plain_value()
        # An evaluation error comes back as a value of type error (its plain value: the message).
        if type(value) is str and result.type().name() in ("*error*", "ERROR"):
            raise CelEvaluationError(_runtime_message(value))
        return value


def _demands_of(program: Any) -> Demands:
    return _analysed(program)[0]


def _analysed(program: Any) -> tuple[Demands, FastProgram | None, bool]:
    """What the program can observe of each variable, its fast path (None: it has none), and whether
    the runtime may read a stale `cel.bind` in it."""
    try:
        root = checked_expression(program.serialize())
    except UnknownSyntax:
        return EVERYTHING, None, False
    observed = tuple(sorted(demands(root, ADMISSION_VARIABLES).items()))
    return observed, compile_fast(root, ADMISSION_VARIABLES), bool(may_share_a_slot(root))


def _join_demands(*all_demands: Demands) -> Demands:
    joined: dict[str, Demand] = {}
    for each in all_demands:
        for name, demand in each:
            joined[name] = join(joined[name], demand) if name in joined else demand
    return tuple(sorted(joined.items()))


class Prepared:
    """The variables of one request, reduced to what some rules can observe, as a CEL activation.

    Converting Python values into CEL values is most of the cost of evaluating an expression, so only
    what the rule's programs can observe is converted (see demand.py), and rules that observe the same
    parts of one request share one activation (see `prepare`).
    """

    __slots__ = ("_activation", "_longest", "_used", "data", "params")

    def __init__(self, data: dict[str, Any], params: Mapping[str, Any] | None = None) -> None:
        self.data = data
        self.params = params  # held, so that its id (part of the cache key) cannot be reused
        self._activation: Any = None
        self._used = False
        self._longest: int | None = None

    def run(self, program: Any) -> Any:
        """`program` evaluated on these values.

        Most activations serve one evaluation (one rule, no failure to word): `eval(data=...)` makes
        that one in a single call into the binding, about half the floor cost of a rule. A second
        evaluation (a message, another rule observing the same parts) makes an Activation, which keeps
        its converted values for every later one.
        """
        if self._activation is not None:
            return program.eval(self._activation)
        if not self._used:
            self._used = True
            return program.eval(data=self.data)
        self._activation = admission_env().Activation(self.data)
        return program.eval(self._activation)

    def longest_collection(self) -> int:
        """The longest list or map the programs can iterate (pruning keeps every element of those)."""
        if self._longest is None:
            self._longest = max((longest_collection(v) for v in self.data.values()), default=0)
        return self._longest


class Need:
    """What a rule's programs observe of each variable, with the functions that keep just that.

    Interned (see `need`): rules that observe the same share one activation per request.
    """

    __slots__ = (
        "__weakref__",
        "checkers",
        "demands",
        "measuring_checkers",
        "pruners",
        "request_checked",
        "request_shape",
    )

    def __init__(self, demands: Demands) -> None:
        self.demands = demands
        self.pruners = tuple((name, pruner(demand)) for name, demand in demands)
        # The fields of `request` the programs can observe: only those are built (None: all of them).
        self.request_shape = shape = request_shape(dict(demands).get("request", FULL))
        # Scalar fields only (the usual kind/subresource/operation test): request_variable tells
        # whether they are plain as it builds them, cheaper than a checker walking them again.
        self.request_checked = shape is not None and all(
            name in _SCALAR_FIELDS or (name == "kind" and parts is not None and parts <= _KIND_ALONE)
            for name, parts in shape
        )
        # Per variable, its value check; the measuring ones also bound its longest collection. Each
        # kind built for the rules that use it (`checks`): generating them costs at load (0.3 s for
        # the exported Pod Security profiles), and most Needs serve rules of one kind only.
        self.checkers: Checks | None = None
        self.measuring_checkers: Checks | None = None

    def checks(self, measure: bool) -> Checks:
        """The value checks of the variables (`measure`: the measuring ones), built when first asked
        for (at load, by the rules that use them: see _RuleEvaluator)."""
        built = self.measuring_checkers if measure else self.checkers
        if built is None:
            built = tuple(
                (name, check)
                for name, demand in self.demands
                if (check := checker(demand, measure=measure))
                and not (name == "request" and self.request_checked)
            )
            if measure:
                self.measuring_checkers = built
            else:
                self.checkers = built
        return built


_needs: weakref.WeakValueDictionary[Demands, Need] = weakref.WeakValueDictionary()
_needs_lock = threading.Lock()


def need(demands: Demands) -> Need:
    with _needs_lock:
        found = _needs.get(demands)
        if found is None:
            found = _needs[demands] = Need(demands)
        return found


class _RequestValues:
    """One request's variables as Python values, each built when first asked for, and the activations
    made from them (one per distinct Need)."""

    __slots__ = ("built", "longest", "partial", "plain", "pod", "prepared", "request")

    def __init__(self, request: Any, pod: PodView | None) -> None:
        self.request = request
        self.pod = pod
        # The variables built so far, by name; `object` costs nothing to build, and nearly every
        # rule reads it: there from the start, it saves the fast path a call.
        self.built: dict[str, Any] = {"object": request.object}
        # {"request": the request variable with only the fields a Need observes}, per Need, and the
        # activations: each made when first needed (most requests need neither).
        self.partial: dict[Need, dict[str, Any] | None] | None = None
        self.prepared: dict[Any, Prepared] | None = None
        # Per Need (and params): the values the fast path reads (`seen_by`), or None where they are
        # not all plain data it reads as CEL does (see `fast_values`).
        self.plain: dict[Any, dict[str, Any] | None] = {}
        # Per key of `plain`: an upper bound of the longest collection the programs can observe.
        self.longest: dict[Any, int] = {}

    def value(self, name: str) -> Any:
        values = self.built
        if name in values:
            return values[name]
        value = values[name] = variable_value(name, self.request, self.pod)
        return value

    def seen_by(self, rule_need: Need) -> dict[str, Any] | None:
        """The variables as `rule_need`'s programs see them, built so far (the fast path's `V`).

        Where the programs select a few fields of `request`, it holds a `request` with just those:
        building the whole of it (names, namespace, user) costs more than a small rule. None when
        those fields, checked as they are built (`Need.request_checked`), are not plain data.
        """
        shape = rule_need.request_shape
        if shape is None:
            return self.built
        partial = self.partial
        if partial is None:
            partial = self.partial = {}
        if rule_need in partial:  # (by Need: hashing a shape costs more than building it)
            return partial[rule_need]
        if rule_need.request_checked:  # built and checked in one pass
            scalars = _plain_scalar_request(self.request, shape)
            seen = None if scalars is None else {"object": self.request.object, "request": scalars}
        else:
            seen = {"object": self.request.object, "request": request_variable(self.request, shape)}
        partial[rule_need] = seen
        return seen

    def fast_values(
        self, rule_need: Need, params: Mapping[str, Any] | None, key: Any, measure: bool
    ) -> dict[str, Any] | None:
        """The variables the fast path of `rule_need`'s programs reads (see `seen_by`), or None
        unless the parts they observe are plain data it reads as CEL does (to_python.checker).
        Kept under `key`: rules observing the same parts check them once per request. `measure`:
        also bound the longest collection they can iterate (see `within_bound`)."""
        seen = self.seen_by(rule_need)
        longest = 0
        if seen is not None:
            if measure and rule_need.request_checked:  # scalar fields and `kind` (a map of one)
                longest = len(seen["request"])
            checks = rule_need.measuring_checkers if measure else rule_need.checkers
            if checks is None:  # (built at load by the rule: see _RuleEvaluator)
                checks = rule_need.checks(measure)
            for name, check in checks:
                found = check(
                    params if name == "params" else seen[name] if name in seen else self.value(name)
                )
                if found == NOT_PLAIN:
                    seen = None
                    break
                if found > longest:
                    longest = found
        self.plain[key] = seen
        if measure:
            self.longest[key] = longest
        return seen

    def within_bound(self, compiled: Compiled, key: Any) -> bool:
        """Whether `compiled`'s comprehension bound surely holds on the values of `key` (seen by
        `fast_values`): the upper bound its checkers measured, raised to the nesting depth, is
        within it. Otherwise the bound is measured exactly, on the pruned values."""
        longest = self.longest.get(key, UNMEASURED)  # (a rule that does not measure: never)
        return bool(longest**compiled.depth <= MAX_ITERATIONS)

    def observed(self, name: str, rule_need: Need) -> Any:
        """One variable as `rule_need`'s programs see it (see `seen_by`)."""
        seen = self.seen_by(rule_need)
        # (not plain: the whole `request`, which CEL sees pruned to the same fields)
        return seen[name] if seen is not None and name in seen else self.value(name)

    def data(self, rule_need: Need, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The variables `rule_need` names, pruned (`params` arrive pruned: see compile_rule)."""
        data = {}
        for name, reduce in rule_need.pruners:
            if name == "params":
                data[name] = params
                continue
            value = self.observed(name, rule_need)
            data[name] = value if reduce is None else reduce(value)
        return data


_last = threading.local()  # the _RequestValues of the request being judged, per thread


def _request_values(request: Any, pod: PodView | None) -> _RequestValues:
    values: _RequestValues | None = getattr(_last, "values", None)
    if values is None or values.request is not request or values.pod is not pod:
        values = _RequestValues(request, pod)
        _last.values = values  # holds the request, so its identity cannot be reused
    return values


def prepare(request: Any, pod: PodView | None, params: Mapping[str, Any] | None, rule_need: Need) -> Prepared:
    """The pruned variables of `rule_need` as a CEL activation (`params`: already pruned)."""
    values = _request_values(request, pod)
    # Rules with params (an imported binding's params object) share only with rules of the same params.
    key = rule_need if params is None else (rule_need, id(params))
    made = values.prepared
    if made is None:
        made = values.prepared = {}
    prepared = made.get(key)
    if prepared is None:
        prepared = made[key] = Prepared(values.data(rule_need, params), params)
    return prepared


def compile_expression(
    source: str, path: str, problem: Problem, *, combined: bool = False, analyse: bool = True
) -> Compiled | None:
    """Compile one expression; report a problem at `path` (with the CEL position) and return None on error.

    `combined`: a rule's program joining its expressions, each already held to the length limit (a
    policy with many validations, e.g. an exported Pod Security profile, may total more); it is
    analysed (demands, fast path, stale binds) unless `analyse` is false (the program alone is used).
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
    if not combined or not analyse:
        return Compiled(source, program, depth)
    program_demands, fast, stale_binds = _analysed(program)
    return Compiled(source, program, depth, program_demands, fast, stale_binds)


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


def _runtime_failure(text: str) -> str:
    """The runtime's exception, worded: "INTERNAL: Iteration budget exceeded [INTERNAL]" says which limit."""
    text = re.sub(r"\s*\[\w+\]$", "", _runtime_message(text))
    if text == "Iteration budget exceeded":
        budget = RUNTIME_ITERATIONS - 1
        return f"more than {budget:,} comprehension iterations, the CEL runtime's budget: refused"
    return text


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

    bind = variable_binder(rule)

    def combined_problem(where: str, message: str) -> None:
        # Every piece compiled on its own, so only the whole can fail: e.g. nested too deep for the
        # CEL parser once each variable is bound around the expressions.
        problem(where, f"the rule does not compile as one program (variables bound around it): {message}")

    def program(body: str, analyse: bool = True, own_depth: int = 0) -> Compiled | None:
        """`body` compiled with the rule's variables bound; its comprehension depth is the deepest of
        the pieces (their binds nest no loops) or `own_depth` (a message's, not among the pieces)."""
        compiled = None
        source = bind(body) if bind is not None else None
        if source is not None:
            compiled = compile_expression(source, path, _ignore, combined=True, analyse=analyse)
        if compiled is None:  # a reference the rewriting cannot follow: bind the `variables` map instead
            source = _with_variables(rule, body)
            compiled = compile_expression(source, path, combined_problem, combined=True, analyse=analyse)
        if compiled is None:
            return None
        return replace(compiled, depth=max(own_depth, *(piece.depth for piece in pieces)))

    conditions = " && ".join(f"({c.expression})" for c in rule.match_conditions)
    checks = ", ".join(f"dyn({v.expression})" for v in rule.validations)
    message_programs = [
        program(v.message_expression, own_depth=message.depth) if v.message_expression and message else None
        for v, message in zip(rule.validations, messages, strict=True)
    ]
    main = program(f"({conditions}) ? [{checks}] : []" if conditions else f"[{checks}]")
    if main is not None and main.stale_binds and len(rule.validations) + bool(conditions) > 1:
        # Joined, a validation's or a match condition's `cel.bind` could read what an earlier one's
        # comprehension left in cel-expr-python (stale_bind.py): the runtime runs each alone; the fast
        # path stays joined.
        # (Only their programs are used: the joined program's analysis holds for them.)
        parts = [program(f"[dyn({v.expression})]", analyse=False) for v in rule.validations]
        alone = [program(f"({c.expression})", analyse=False) for c in rule.match_conditions]
        if all(parts) and all(alone):
            main = replace(
                main,
                program=SeparatePrograms(
                    [c.program for c in alone if c is not None], [p.program for p in parts if p is not None]
                ),
            )
    if main is None or any(
        compiled is None and v.message_expression
        for compiled, v in zip(message_programs, rule.validations, strict=True)
    ):
        return None
    validations = tuple(
        _Validation(
            message=v.message or f"failed expression: {v.expression.strip()}",
            message_program=compiled,
            field_path=v.field_path,
        )
        for v, compiled in zip(rule.validations, message_programs, strict=True)
    )
    # Messages are evaluated on the rule's activation: it holds what they observe too.
    rule_need = need(
        _join_demands(main.demands, *(v.message_program.demands for v in validations if v.message_program))
    )
    params_demand = dict(rule_need.demands).get("params", FULL)
    evaluator = _RuleEvaluator(
        name=rule.name,
        program=main,
        validations=validations,
        params=rule.params,
        # Params never change after load: pruned once, here, not per request.
        pruned_params=None if rule.params is None else prune(rule.params, params_demand),
        need=rule_need,
    )
    return Rule(name=rule.name, check=CEL_CHECK, run=evaluator.without_request, run_request=evaluator)


def _ignore(path: str, message: str) -> None:
    pass


def variable_binder(rule: ExpressionRule) -> Callable[[str], str | None] | None:
    """A function giving `body` inside `cel.bind` layers that bind each rule variable to an identifier.

    `variables.x` (x a rule variable defined before) becomes that identifier, so a variable costs one
    binding instead of a rebuilt `variables` map, about half the evaluation time of a small rule. As
    in the API server, a variable that fails only fails the expressions that use it. None when a
    reference could be misread (`variables` bound as a comprehension variable, indexed, or used
    alone; the prefix already in use): the caller then binds the map (`_with_variables`).
    """
    texts = [v.expression for v in rule.variables]
    texts += [c.expression for c in rule.match_conditions]
    texts += [v.expression for v in rule.validations]
    texts += [v.message_expression for v in rule.validations if v.message_expression]
    if any(BOUND_PREFIX in text for text in texts):
        return None
    names = {v.name: f"{BOUND_PREFIX}{v.name}" for v in rule.variables}
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in names):
        return None
    layers: list[str] = []
    defined: set[str] = set()
    for variable in rule.variables:
        value = _rewrite_variables(variable.expression, {n: names[n] for n in defined})
        if value is None:
            return None
        layers.append(f"cel.bind({names[variable.name]}, dyn({value}), ")
        defined.add(variable.name)
    bound = {n: names[n] for n in defined}

    def bind(body: str) -> str | None:
        rewritten = _rewrite_variables(body, bound)
        if rewritten is None:
            return None
        return "".join(layers) + f"({rewritten})" + ")" * len(layers)

    return bind


def _rewrite_variables(source: str, bound: Mapping[str, str]) -> str | None:
    """`source` with each `variables.<name>` of `bound` replaced by its identifier (string literals
    skipped), or None if `variables` appears other than as `variables.<field>`."""
    out: list[str] = []
    copied = 0
    tokens = [*code_tokens(source), (len(source), "")]  # an end marker: no lookahead runs off
    for t, (offset, token) in enumerate(tokens[:-1]):
        if token != "variables" or (t and tokens[t - 1][1] == "."):
            continue
        (_, dot), (name_at, name) = tokens[t + 1], tokens[t + 2] if t + 2 < len(tokens) else tokens[-1]
        if dot != "." or not (name[:1].isalpha() or name[:1] == "_"):
            return None
        if name in bound:
            out += [source[copied:offset], bound[name]]
            copied = name_at + len(name)
    out.append(source[copied:])
    return "".join(out)


def _with_variables(rule: ExpressionRule, body: str) -> str:
    """`body` inside `cel.bind` layers that define `variables`, each variable seeing the ones before.

    The built-in podSpec and podMetadata come in with the activation (computed by podspec.pod_view,
    which every check uses too); a rule's own definition of them replaces them.
    """
    defined = list(BUILTIN_VARIABLES)
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
    params: Mapping[str, Any] | None  # as written (what the fast path reads)
    pruned_params: Mapping[str, Any] | None  # reduced to what the programs observe (for CEL)
    need: Need  # what the program and the message programs observe
    # Rules with params (an imported binding's params object) share the plain-data verdict only
    # with rules of the same params (held here, so its id cannot be reused).
    plain_key: Any = field(init=False)
    measure: bool = field(init=False)
    fast: FastProgram | None = field(init=False)  # the program's fast path, at hand

    def __post_init__(self) -> None:
        # (programs nesting comprehensions measure the collections they may iterate: see within_bound)
        programs = [self.program, *(v.message_program for v in self.validations if v.message_program)]
        measure = max(p.depth for p in programs) >= 2
        object.__setattr__(self, "measure", measure)
        self.need.checks(measure)  # (at load, not on the first request)
        # (the Need alone where it can be: a tuple's hash is computed on every lookup)
        key = self.need if self.params is None and not measure else (self.need, measure, id(self.params))
        object.__setattr__(self, "plain_key", key)
        object.__setattr__(self, "fast", self.program.fast)

    def without_request(self, pod: PodView) -> list[Finding]:
        """Used where only a pod is at hand (UPDATE diffs never call it: expression rules judge in full)."""
        from ..engine import Request

        return self(pod, Request(object=pod.node))

    def __call__(self, pod: PodView, request: Any) -> list[Finding]:
        started = perf_counter()
        results: Any = None
        # The fast path (see `_fast`), written out here: on a small rule, the calls between the
        # engine and the generated function cost about as much as evaluating it.
        fast = self.fast
        if fast is not None and FAST_PATH:
            values: _RequestValues | None = getattr(_last, "values", None)
            if values is None or values.request is not request or values.pod is not pod:
                values = _last.values = _RequestValues(request, pod)  # (see _request_values)
            plain, key = values.plain, self.plain_key
            seen = (
                plain[key] if key in plain else values.fast_values(self.need, self.params, key, self.measure)
            )
            if seen is not None:
                # The bound measures what the real program would convert (pruned): only when the
                # checkers' upper bound cannot rule out exceeding it.
                if self.program.depth >= 2 and not values.within_bound(self.program, key):
                    self.program.check_bound(self._prepared(pod, request))
                try:
                    results = fast.function(seen, self.params, values.value)
                except Exception:  # (any failure: the real program answers, errors included)
                    results = None
                else:
                    if not fast.bool_list and not _bool_list(results):
                        results = None  # the real program words the error
            if results is not None:
                # A list of bools (known at compile time, or checked above): `False in` is exact.
                findings = self._findings(results, pod, request) if False in results else []
                if perf_counter() - started > MAX_RULE_SECONDS:
                    raise self._too_slow(started)
                return findings
        results = self.program.eval(self._prepared(pod, request))
        findings = []
        for passed in results:  # [] when a match condition is false
            if passed is not True:
                findings = self._findings(results, pod, request)
                break
        if perf_counter() - started > MAX_RULE_SECONDS:
            raise self._too_slow(started)
        return findings

    def _too_slow(self, started: float) -> CelEvaluationError:
        elapsed = perf_counter() - started  # (read again: at least what exceeded the bound)
        return CelEvaluationError(
            f"took {elapsed * 1000:.0f} ms, more than the {MAX_RULE_SECONDS * 1000:.0f} ms bound"
        )

    def _prepared(self, pod: PodView, request: Any) -> Prepared:
        return prepare(request, pod, self.pruned_params, self.need)

    def _fast(self, compiled: Compiled, pod: PodView, request: Any, kind: type) -> Any:
        """`compiled`'s result by its fast path, or None where the real program must answer: no fast
        path, values it may not read, or a result it does not give (it raised, or not a list of
        booleans for the rule, not a string for a message: the real program then words the error)."""
        fast = compiled.fast
        if fast is None or not FAST_PATH:
            return None
        values: _RequestValues | None = getattr(_last, "values", None)
        if values is None or values.request is not request or values.pod is not pod:
            values = _last.values = _RequestValues(request, pod)  # (see _request_values)
        plain = values.plain
        seen = (
            plain[self.plain_key]
            if self.plain_key in plain
            else values.fast_values(self.need, self.params, self.plain_key, self.measure)
        )
        if seen is None:
            return None
        if compiled.depth >= 2 and not values.within_bound(compiled, self.plain_key):  # (see __call__)
            compiled.check_bound(self._prepared(pod, request))
        result: Any
        try:
            result = fast.function(seen, self.params, values.value)
        except Exception:  # (any failure: the real program answers, errors included)
            return None
        if kind is not list:
            return result if type(result) is kind else None
        return result if fast.bool_list or _bool_list(result) else None

    def _findings(self, results: list[Any], pod: PodView, request: Any) -> list[Finding]:
        findings = []
        for i, (validation, passed) in enumerate(zip(self.validations, results, strict=True)):
            if passed is True:
                continue
            if passed is not False:
                raise CelEvaluationError(f"validation {i} returned {passed!r}, not a boolean")
            findings.append(
                Finding(
                    path=validation.field_path or pod.spec_path,
                    value=None,
                    problem=self._message(validation, pod, request),
                    fix="",
                )
            )
        return findings

    def _message(self, validation: _Validation, pod: PodView, request: Any) -> str:
        # As the API server does: a messageExpression that fails or gives an empty string falls back.
        program = validation.message_program
        if program is not None:
            try:
                text = self._fast(program, pod, request, str)
                if text is None:
                    text = program.eval(self._prepared(pod, request))
            except CelEvaluationError:
                text = None
            if isinstance(text, str) and text.strip() and "\n" not in text:
                return text
        return validation.message


def _bool_list(result: Any) -> bool:
    """Is a fast path's result a rule's: a list of bools?"""
    return type(result) is list and all(type(passed) is bool for passed in result)


def variable_value(name: str, request: Any, pod: PodView | None) -> Any:
    """One CEL variable of a request (not `params`), as ValidatingAdmissionPolicy defines it."""
    if name == "object":
        return request.object
    if name == "oldObject":
        return request.old_object
    if name == "variables":
        return {
            "podSpec": pod.spec if pod is not None else None,
            "podMetadata": pod.metadata if pod is not None else None,
        }
    if name == "request":
        return request_variable(request)
    obj = request.object
    is_map = type(obj) is dict or isinstance(obj, Mapping)  # type() first: ABC checks are slow
    metadata = obj.get("metadata") if is_map else None
    metadata = metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}
    namespace = request.namespace or metadata.get("namespace") or ""
    if name == "namespaceObject":
        if not namespace or request.namespace_labels is None:
            return None
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": dict(request.namespace_labels)},
        }
    raise KeyError(name)


# Which fields of the `request` variable to build, each with which of its own fields (None: all).
RequestShape = tuple[tuple[str, frozenset[str] | None], ...]


def request_shape(demand: Demand) -> RequestShape | None:
    """The fields of `request` that `demand` can observe (None: all of it)."""
    if not isinstance(demand, Fields):
        return None
    return tuple(
        (field, frozenset(key for key, _ in sub.keys) if isinstance(sub, Fields) else None)
        for field, sub in demand.keys
        if field in _REQUEST_FIELDS  # (a program selecting another field fails on it either way)
    )


def request_variable(request: Any, shape: RequestShape | None = None) -> dict[str, Any]:
    """The `request` variable, or just the fields `shape` names (the others left out, not nulled).

    A program that only selects fields (demand.py) observes nothing else, so it sees no difference.
    """
    if shape is None:
        return _whole_request(request)
    built: dict[str, Any] = {}
    for name, parts in shape:  # the cheap fields inline: a call per field costs more than them
        if name == "operation":
            built[name] = request.operation
        elif name == "subResource":
            built[name] = request.subresource
        elif name == "kind" and parts is not None and parts <= _KIND_ALONE:
            built[name] = {"kind": _kind_name(request)}
        else:
            built[name] = _REQUEST_FIELDS[name](request, parts)
    return built


def _whole_request(request: Any) -> dict[str, Any]:
    # Written out (not from _REQUEST_FIELDS): a call per field would double its cost.
    obj = request.object
    is_map = type(obj) is dict or isinstance(obj, Mapping)  # type() first: ABC checks are slow
    metadata = obj.get("metadata") if is_map else None
    metadata = metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}
    kind = request.kind or (obj.get("kind") if is_map else None) or ""
    api_version = str(obj.get("apiVersion") or "") if is_map else ""
    group, _, version = api_version.rpartition("/")
    return {
        "operation": request.operation,
        "kind": {"group": group, "version": version, "kind": kind},
        "name": metadata.get("name") or "",
        "namespace": request.namespace or metadata.get("namespace") or "",
        "subResource": request.subresource,
        "userInfo": {"username": request.user.username, "groups": list(request.user.groups)},
        "dryRun": request.dry_run,
    }


def _object_map(request: Any) -> Mapping[str, Any]:
    obj = request.object
    return obj if type(obj) is dict or isinstance(obj, Mapping) else {}  # type() first: ABCs are slow


def _kind_name(request: Any) -> Any:
    """request.kind.kind: the request's kind, else the object's, as written (not always a string)."""
    return request.kind or _object_map(request).get("kind") or ""


def _metadata(request: Any) -> Mapping[str, Any]:
    metadata = _object_map(request).get("metadata")
    return metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}


_KIND_ALONE = frozenset({"kind"})  # the usual test of request.kind.kind alone
_SCALAR_FIELDS = frozenset({"operation", "subResource", "dryRun"})


def _plain_scalar_request(request: Any, shape: RequestShape) -> dict[str, Any] | None:
    """The `request` variable with the scalar fields of `shape` (see Need.request_checked), as
    request_variable builds it, or None unless each is plain data CEL carries as the same value: a
    string without a lone surrogate or a boolean (to_python.checker's test)."""
    built: dict[str, Any] = {}
    for name, _ in shape:
        if name == "operation":
            value = request.operation
        elif name == "subResource":
            value = request.subresource
        elif name == "dryRun":
            value = request.dry_run
        else:  # kind, its `kind` field alone
            value = _kind_name(request)
        if type(value) is str:
            if not value.isascii() and not encodes(value):
                return None  # a lone surrogate: the CEL binding refuses it
        elif type(value) is not bool:
            return None
        built[name] = {"kind": value} if name == "kind" else value
    return built


def _kind(request: Any, parts: frozenset[str] | None) -> dict[str, Any]:
    kind = _kind_name(request)
    if parts is not None and parts <= _KIND_ALONE:
        return {"kind": kind}
    group, _, version = str(_object_map(request).get("apiVersion") or "").rpartition("/")
    return {"group": group, "version": version, "kind": kind}


# Each field of the `request` variable, in the order of the AdmissionRequest.
_REQUEST_FIELDS: dict[str, Callable[[Any, frozenset[str] | None], Any]] = {
    "operation": lambda request, _: request.operation,
    "kind": _kind,
    "name": lambda request, _: _metadata(request).get("name") or "",
    "namespace": lambda request, _: request.namespace or _metadata(request).get("namespace") or "",
    "subResource": lambda request, _: request.subresource,
    "userInfo": lambda request, _: {"username": request.user.username, "groups": list(request.user.groups)},
    "dryRun": lambda request, _: request.dry_run,
}
REQUEST_FIELDS = tuple(_REQUEST_FIELDS)
