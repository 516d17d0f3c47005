"""A fast path for CEL programs: the checked syntax tree compiled to straight-line Python source.

cel-expr-python stays THE CEL implementation (parsing, type checking, errors, messages). What costs
most in a small admission rule is not evaluating it but converting the request's Python values into
CEL values (pybind11) and the binding's per-call overhead. So at load, each rule's combined program
(see rules.py) is compiled, when every construct in it is one this module reproduces exactly, into
one Python function that evaluates it directly on the request's Python values (dict, list, str,
int, float, bool, None): no conversion at all.

Soundness contract. For any input, the fast function either returns exactly the value
`program.eval(...).plain_value()` would return (the same Python value, of the same type), or raises
(any exception: `Defer`, KeyError, TypeError, IndexError, ...), and then the caller evaluates the real
program as before. So:

- Wherever CEL gives an error (no such key, select on null or on a non-map, index out of range, int64
  overflow, division by zero, no matching overload, ...), the generated code raises, never returns.
  Python is more permissive than CEL (`True == 1`, `1 + True`, negative indices, `//` rounding toward
  -inf, `str * int`, ints beyond int64, `[nan] == [nan]`): every operation checks the exact types of
  its operands (`type(x) is ...`: bool is a subclass of int) and raises where CEL would not answer as
  Python does, or where this module is not sure it would.
- `&&` and `||` absorb errors in CEL (`false && error` is false). The generated code short-circuits
  left to right and lets an error on the left propagate: the real program then gives the commutative
  answer. Comprehensions (all, exists, exists_one, map, filter) are compiled from the generic
  comprehension node, so their CEL definition is what runs; an error in any step raises.
- What an expression computed (a selected field, a type checked) is reused only where it ran on this
  evaluation: in the same block, or after `a && b` where that is true (what `b` computed), never after
  `||` or in a ternary's second branch; in a loop, never from an earlier element.
- cel-expr-python fails an evaluation at its RUNTIME_ITERATIONS-th comprehension iteration (limits.py):
  the generated code adds each loop's length at its start (never fewer than the loop runs) and hands
  over before the sum could reach it, so the runtime gives its answer, or its refusal.
- `cel.bind` values are evaluated eagerly but their failure is kept, not raised, until the bound name
  is used, as CEL's errors-as-values do (a rule variable that fails only fails what uses it); a
  binding nothing uses is not evaluated.
- cel-expr-python converts a variable deeply when the program first touches it: anything in it it
  cannot represent (an int beyond int64, a lone surrogate, a tuple, a non-string key...) makes the
  whole access an error. The real program sees the variable reduced to what it can observe
  (demand.py), so `checker()` tests exactly those parts, once per request: the fast path answers only
  for values that are plain JSON data CEL represents as the same values (ints within int64, string
  keys, no lone surrogates).
- `matches` only with a constant pattern in the subset RE2 and Python's `re` read alike
  (`python_regex`), on subjects without a line break.
- A program using anything not reproduced (optionals, bytes, uints, `type()` other than compared with
  a type name, `string()` of a double, other conversions, functions not listed in `_FUNCTIONS` (of the
  Kubernetes libraries only the quantity functions are: library.py's own implementations, called
  after the exact type checks of their declared overloads), a map iterated where order matters (a
  `filter`/`map` over a map is iterated in Python's order only when `size()` alone reads it), an
  unknown syntax node) gets no fast path: decided at load, no cost per request.

One known exception: cel-expr-python can read a stale value for a `cel.bind` evaluated after a
comprehension that stopped early (see the test recording it and docs/cel.md); there the fast path
gives CEL's answer and the runtime does not.

Generated source contains only `repr()`s of plain str/int/float/bool/None constants and generated
names (`v3`, `g0`, `k1`): no text of the expression is pasted into it.
"""

from __future__ import annotations

import math
import re
import warnings
from ast import literal_eval as eval_literal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import library as kubernetes
from .ast import Call, Comprehension, Const, CreateList, CreateStruct, Expr, Ident, Select, children, mentions
from .demand import FULL, KIND, NONE, Demand, Elements, Fields
from .library import admission_env
from .limits import RUNTIME_ITERATIONS

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
EXACT_FLOAT_INT = 2**53  # ints up to this size convert to double exactly: int/double mixes compare alike


class Defer(Exception):
    """The fast path does not answer: evaluate the real program."""


class Unsupported(Exception):
    """A construct the compiler does not reproduce: no fast path for this program."""


class _Abort(Exception):
    """Where the real program raises instead of returning an error (a duplicate map key): never kept
    as a failed binding, always deferred."""


_FAILED = object()  # a cel.bind value whose evaluation failed (used: defer; unused: harmless)


@dataclass(frozen=True, slots=True)
class FastProgram:
    # function(values, params, get): `values` maps variable names to the values built so far,
    # `get(name)` builds another one, `params` is the rule's params object.
    function: Callable[[Mapping[str, Any], Any, Callable[[str], Any]], Any]
    variables: tuple[str, ...]  # the global variables it reads
    source: str  # the generated Python, for tests and debugging
    # Known at compile time: whenever it returns, it returns a list of bools (a rule's program
    # whose every validation is a bool), so the caller need not check the result's elements.
    bool_list: bool = False

    def run(self, data: Mapping[str, Any]) -> Any:
        """The function on `data`, all variables at hand (for tests)."""
        return self.function(data, data.get("params"), data.__getitem__)


# --- run-time helpers the generated code calls (each raises where CEL would not agree) -------------


def _int(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise Defer("int64 overflow")


def _eq(a: Any, b: Any) -> bool:
    """CEL's heterogeneous equality on valid values."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
        if ta is dict:
            return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
        if ta is str or ta is int or ta is float or ta is bool or a is None:
            return bool(a == b)
        raise Defer("equality of an unknown type")
    if (ta is int and tb is float) or (ta is float and tb is int):
        whole = a if ta is int else b
        if -EXACT_FLOAT_INT <= whole <= EXACT_FLOAT_INT:
            return bool(a == b)
        raise Defer("int/double equality beyond 2**53")
    if ta in _VALUE_TYPES and tb in _VALUE_TYPES:
        return False  # different kinds of values are not equal (no error) in CEL
    raise Defer("equality of an unknown type")


_VALUE_TYPES = frozenset({type(None), bool, int, float, str, list, dict})
_ORDERED = frozenset({bool, int, float, str})


def _ordered(a: Any, b: Any) -> None:
    """Raise unless `a < b` means in Python what it means in CEL."""
    ta, tb = type(a), type(b)
    if ta is tb and ta in _ORDERED:
        return
    if (ta is int and tb is float) or (ta is float and tb is int):
        whole = a if ta is int else b
        if -EXACT_FLOAT_INT <= whole <= EXACT_FLOAT_INT:
            return
    raise Defer("comparison CEL does not define as Python does")


def _lt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a >= b)


def _add(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Defer("+ of different types")
    if ta is int:
        return _int(a + b)
    if ta is str or ta is float:
        return a + b
    if ta is list:
        return [*a, *b]
    raise Defer("+ of an unsupported type")


def _sub(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Defer("- of different types")
    if ta is int:
        return _int(a - b)
    if ta is float:
        return a - b
    raise Defer("- of an unsupported type")


def _mul(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Defer("* of different types")
    if ta is int:
        return _int(a * b)
    if ta is float:
        return a * b
    raise Defer("* of an unsupported type")


def _div(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and b != 0:
        quotient = abs(a) // abs(b)  # CEL truncates toward zero
        return _int(quotient if (a < 0) == (b < 0) else -quotient)
    raise Defer("/ other than of two ints with a divisor")  # double division: inf, nan... left to CEL


def _mod(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and b != 0 and not (a == INT_MIN and b == -1):
        remainder = abs(a) % abs(b)  # CEL's remainder takes the sign of the dividend
        return -remainder if a < 0 else remainder
    raise Defer("% other than of two ints with a divisor")


def _neg(a: Any) -> Any:
    if type(a) is int:
        return _int(-a)
    if type(a) is float:
        return -a
    raise Defer("- of an unsupported type")


def _in(item: Any, container: Any) -> bool:
    if type(container) is list:
        return any(_eq(item, element) for element in container)
    if type(container) is dict and type(item) is str:
        return item in container
    raise Defer("`in` on an unsupported type")


def _index(container: Any, key: Any) -> Any:
    if type(container) is list and type(key) is int and 0 <= key < len(container):
        return container[key]
    if type(container) is dict and type(key) is str:
        return container[key]  # KeyError: CEL's "no such key"
    raise Defer("index of an unsupported kind")


def _size(value: Any) -> int:
    if type(value) is str or type(value) is list or type(value) is dict:
        return len(value)
    raise Defer("size of an unsupported type")


def _strings(*values: Any) -> None:
    for value in values:
        if type(value) is not str:
            raise Defer("a string function on a non-string")


def _starts_with(s: Any, prefix: Any) -> bool:
    _strings(s, prefix)
    return bool(s.startswith(prefix))


def _ends_with(s: Any, suffix: Any) -> bool:
    _strings(s, suffix)
    return bool(s.endswith(suffix))


def _contains(s: Any, part: Any) -> bool:
    _strings(s, part)
    return part in s


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def _lower_ascii(s: Any) -> str:
    _strings(s)
    return str(s.translate(_ASCII_LOWER))


def _upper_ascii(s: Any) -> str:
    _strings(s)
    return str(s.translate(_ASCII_UPPER))


def _join(items: Any, separator: Any = "") -> str:
    _strings(separator)
    if type(items) is not list:
        raise Defer("join of a non-list")
    _strings(*items)
    return str(separator.join(items))


def _replace(s: Any, old: Any, new: Any) -> str:
    _strings(s, old, new)
    if not old:
        raise Defer("replace of the empty string")  # where CEL inserts `new` is not checked here
    return str(s.replace(old, new))


def _index_of(s: Any, part: Any) -> int:
    _strings(s, part)  # (lists have an indexOf too, from the Kubernetes library: left to CEL)
    return int(s.find(part))  # code points, as cel-cpp counts


_TO_THE_END = object()  # substring(start) without an end: not an explicit null, which CEL refuses


def _substring(s: Any, start: Any, end: Any = _TO_THE_END) -> str:
    _strings(s)
    end = len(s) if end is _TO_THE_END else end
    if type(start) is int and type(end) is int and 0 <= start <= end <= len(s):
        return str(s[start:end])
    raise Defer("substring out of range")


def _string(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    if type(value) is bool:
        return "true" if value else "false"
    raise Defer("string() of a double (CEL formats it its own way) or another type")


def _matches(s: Any, pattern: re.Pattern[str]) -> bool:
    _strings(s)
    if "\n" in s:  # Python's `$` also matches before a final newline, RE2's does not
        raise Defer("a line break in a string matched with a regular expression")
    return pattern.search(s) is not None


def _map(*pairs: Any) -> dict[str, Any]:
    built = {}
    for i in range(0, len(pairs), 2):
        if type(pairs[i]) is not str:
            raise Defer("a map literal key that is not a string")
        if pairs[i] in built:
            raise _Abort("duplicate key in a map literal")  # the real program raises
        built[pairs[i]] = pairs[i + 1]
    return built


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise Defer("not a bool")


# --- the Kubernetes quantity library: library.py's own implementations (the very functions the runtime
# calls, so values agree by construction), behind the exact Python types of their declared overloads:
# string, the tagged map a quantity travels as, int. Their CelFunctionError (not a quantity, a map
# of another tag...) is raised as is: the real program gives an error there. ---------------------------


def _text_argument(value: Any) -> str:
    if type(value) is str:
        return value
    raise Defer("a quantity function on a non-string")


def _quantity_argument(value: Any) -> dict[str, Any]:
    if type(value) is dict:
        return value  # its tag and text are checked by the implementation, as at run time
    raise Defer("a quantity method on a value that is not a map")


def _quantity_or_int(value: Any) -> Any:
    if type(value) is int:  # not bool: CEL's bool does not match an int overload
        return value
    return _quantity_argument(value)


def _k8s_quantity(text: Any) -> dict[str, str]:
    return kubernetes._quantity(_text_argument(text))


def _k8s_is_quantity(text: Any) -> bool:
    return kubernetes._is_quantity(_text_argument(text))


def _k8s_is_integer(q: Any) -> bool:
    return kubernetes._is_integer(_quantity_argument(q))


def _k8s_as_integer(q: Any) -> int:
    return kubernetes._as_integer(_quantity_argument(q))


def _k8s_as_approximate_float(q: Any) -> float:
    return kubernetes._as_approximate_float(_quantity_argument(q))


def _k8s_sign(q: Any) -> int:
    return kubernetes._sign(_quantity_argument(q))


def _k8s_add(q: Any, other: Any) -> dict[str, str]:
    return kubernetes._q_add(_quantity_argument(q), _quantity_or_int(other))


def _k8s_sub(q: Any, other: Any) -> dict[str, str]:
    return kubernetes._q_sub(_quantity_argument(q), _quantity_or_int(other))


def _k8s_is_greater_than(q: Any, other: Any) -> bool:
    return kubernetes._is_greater_than(_quantity_argument(q), _quantity_argument(other))


def _k8s_is_less_than(q: Any, other: Any) -> bool:
    return kubernetes._is_less_than(_quantity_argument(q), _quantity_argument(other))


def _k8s_compare_to(q: Any, other: Any) -> int:
    return kubernetes._compare(_quantity_argument(q), _quantity_argument(other))


# CEL function (overload name as the checker writes it, member call?, arity) -> helper.
_FUNCTIONS: dict[tuple[str, bool, int], str] = {
    ("_<_", False, 2): "_lt",
    ("_<=_", False, 2): "_le",
    ("_>_", False, 2): "_gt",
    ("_>=_", False, 2): "_ge",
    ("_+_", False, 2): "_add",
    ("_-_", False, 2): "_sub",
    ("_*_", False, 2): "_mul",
    ("_/_", False, 2): "_div",
    ("_%_", False, 2): "_mod",
    ("-_", False, 1): "_neg",
    ("@in", False, 2): "_in",
    ("_[_]", False, 2): "_index",
    ("size", False, 1): "_size",
    ("size", True, 1): "_size",
    ("startsWith", True, 2): "_starts_with",
    ("endsWith", True, 2): "_ends_with",
    ("contains", True, 2): "_contains",
    ("lowerAscii", True, 1): "_lower_ascii",
    ("upperAscii", True, 1): "_upper_ascii",
    ("join", True, 1): "_join",
    ("join", True, 2): "_join",
    ("replace", True, 3): "_replace",
    ("indexOf", True, 2): "_index_of",
    ("substring", True, 2): "_substring",
    ("substring", True, 3): "_substring",
    ("string", False, 1): "_string",
    # Kubernetes quantities (every overload of each: see the helpers above)
    ("quantity", False, 1): "_k8s_quantity",
    ("isQuantity", False, 1): "_k8s_is_quantity",
    ("isInteger", True, 1): "_k8s_is_integer",
    ("asInteger", True, 1): "_k8s_as_integer",
    ("asApproximateFloat", True, 1): "_k8s_as_approximate_float",
    ("sign", True, 1): "_k8s_sign",
    ("add", True, 2): "_k8s_add",
    ("sub", True, 2): "_k8s_sub",
    ("isGreaterThan", True, 2): "_k8s_is_greater_than",
    ("isLessThan", True, 2): "_k8s_is_less_than",
    ("compareTo", True, 2): "_k8s_compare_to",
}

_BOOLEAN_HELPERS = frozenset(
    {
        "_lt",
        "_le",
        "_gt",
        "_ge",
        "_in",
        "_starts_with",
        "_ends_with",
        "_contains",
        "_k8s_is_quantity",
        "_k8s_is_integer",
        "_k8s_is_greater_than",
        "_k8s_is_less_than",
    }
)

# `type(x) == <name>`: the test on the Python value (uints and bytes never reach the fast path).
_TYPE_TESTS = {
    "int": "type({}) is int",
    "double": "type({}) is float",
    "bool": "type({}) is bool",
    "string": "type({}) is str",
    "list": "type({}) is list",
    "map": "type({}) is dict",
    "null_type": "{} is None",
    "uint": "False",
    "bytes": "False",
}

_HELPERS: dict[str, Any] = {
    name: globals()[name]
    for name in {
        *_FUNCTIONS.values(),
        "_matches",
        "_eq",
        "_int",
        "_map",
        "_bool",
    }
}


# --- the compiler ----------------------------------------------------------------------------------


def compile_fast(root: Expr, global_names: tuple[str, ...]) -> FastProgram | None:
    """The fast function for the program whose checked tree is `root`, or None when it uses
    anything this module does not reproduce exactly."""
    try:
        emitter = _Emitter(global_names)
        result = emitter.expr(root)
    except (Unsupported, RecursionError):
        return None
    used = tuple(name for name in global_names if name in emitter.used_globals)
    # The variables' values: from the request's values already built (V), else built now (get);
    # `params` is the rule's (P).
    prologue = [
        f"    {emitter.global_python[name]} = P"
        if name == "params"
        else f"    {emitter.global_python[name]} = V[{name!r}] if {name!r} in V else get({name!r})"
        for name in used
    ]
    if emitter.loops:
        prologue.append("    _it = 0  # comprehension iterations (see _Emitter.comprehension)")
    body = "\n".join(prologue + ["    " + line for line in emitter.lines])
    source = f"def fast(V, P, get):\n{body}\n    return {result}\n"
    namespace: dict[str, Any] = {
        **_HELPERS,
        "_D": Defer,
        "_Abort": _Abort,
        "_FAILED": _FAILED,
        **emitter.constants,
    }
    try:
        code = compile(source, "<cel fast path>", "exec")
    except (SyntaxError, RecursionError, MemoryError):  # nested deeper than Python's parser allows
        return None
    exec(code, namespace)  # generated: see the module docstring
    return FastProgram(namespace["fast"], used, source, bool_list=result in emitter.bool_lists)


class _Emitter:
    def __init__(self, global_names: tuple[str, ...]) -> None:
        self.lines: list[str] = []
        self.indent = ""
        self.count = 0
        self.global_python = {name: f"g{i}" for i, name in enumerate(global_names)}
        self.used_globals: set[str] = set()
        self.scope: list[dict[str, tuple[str, bool]]] = []  # CEL name -> (Python name, may be failed)
        self.constants: dict[str, Any] = {}
        self.fresh_lists: set[str] = set()  # accumulators holding a list only this code refers to
        # What is known at the current point of the generated code, per nested block (innermost
        # last): values already computed ("sel:v1:'spec'" -> "v4") and checks already passed
        # ("dict:v1"). Only about names assigned once: never about accumulators (`mutable`).
        self.known: list[dict[str, str]] = [{}]
        self.mutable: set[str] = set()
        self.bools: set[str] = {"True", "False"}  # names every assignment of which is a bool
        self.strs: set[str] = set()  # names every assignment of which is a str
        self.bool_lists: set[str] = set()  # names every assignment of which is a list of bools
        # Comprehensions (by id) only counted by `size()`: a map may be iterated in Python's order.
        self.only_counted: set[int] = set()
        self.loops = False  # any comprehension loop (then the function counts iterations)
        # What the right operand of an `&&` learnt, per name of its result: all of it holds where
        # that result is true (the operand ran), e.g. in `a && b && c` (`(a && b) && c`) the
        # selections `b` made serve `c`, and in the first branch of `(a && b) ? x : y`, `x`.
        self.when_true: dict[str, dict[str, str]] = {}

    def is_string(self, value: str) -> bool:
        return value in self.strs or (value[:1] in ("'", '"') and type(eval_literal(value)) is str)

    def lookup(self, key: str) -> str | None:
        for layer in reversed(self.known):
            if key in layer:
                return layer[key]
        return None

    def learn(self, key: str, name: str = "") -> None:
        self.known[-1][key] = name

    def enter(self) -> None:
        """Start a nested block (a branch, a loop body, a try): what is learnt there stays there."""
        self.indent += "    "
        self.known.append({})

    def leave(self) -> None:
        self.indent = self.indent[:-4]
        self.known.pop()

    def require(self, kind: str, value: str) -> None:
        """Emit the check that `value` is a `kind` (dict, bool or str), unless already known."""
        if value in self.mutable:
            self.emit(f"if type({value}) is not {kind}: raise _D")
            return
        if kind == "bool" and value in self.bools:
            return
        if self.lookup(f"{kind}:{value}") is None:
            self.emit(f"if type({value}) is not {kind}: raise _D")
            self.learn(f"{kind}:{value}")

    def temp(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def assign(self, code: str) -> str:
        name = self.temp()
        self.emit(f"{name} = {code}")
        return name

    def constant(self, value: Any) -> str:
        if value is None or type(value) in (bool, int, str):
            if type(value) is int and not INT_MIN <= value <= INT_MAX:
                raise Unsupported("int constant out of range")
            return repr(value)
        if type(value) is float:
            if math.isfinite(value):
                return repr(value)
            name = f"k{len(self.constants)}"
            self.constants[name] = value
            return name
        raise Unsupported(f"constant of type {type(value).__name__}")

    def expr(self, node: Expr) -> str:
        """Emit the statements computing `node`; return a Python expression naming its value (a
        constant or a local that later statements do not reassign)."""
        if isinstance(node, Const):
            if node.unsigned:
                raise Unsupported("uint constant")
            return self.constant(node.value)
        if isinstance(node, Ident):
            return self.ident(node.name)
        if isinstance(node, Select):
            return self.select(self.expr(node.operand), node.field, node.test_only)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, CreateList):
            if node.optional_indices:
                raise Unsupported("optional list elements")
            items = [self.expr(e) for e in node.elements]
            created = self.assign(f"[{', '.join(items)}]")
            if all(item in self.bools for item in items):
                self.bool_lists.add(created)
            return created
        if isinstance(node, CreateStruct):
            if node.message_name or any(e.key is None or e.optional for e in node.entries):
                raise Unsupported("a message or an optional map entry")
            parts: list[str] = []
            for entry in node.entries:
                assert entry.key is not None
                parts += [self.expr(entry.key), self.expr(entry.value)]
            return self.assign(f"_map({', '.join(parts)})")
        if isinstance(node, Comprehension):
            return self.comprehension(node)
        raise Unsupported(type(node).__name__)

    def select(self, operand: str, field: str, test_only: bool = False) -> str:
        """`operand.field` (or `has(operand.field)`); also `operand["field"]`, which on a map is the
        same selection in CEL."""
        key = f"{'has' if test_only else 'sel'}:{operand}:{field!r}"
        if (known := self.reused(key, operand)) is not None:
            return known
        self.require("dict", operand)
        if test_only:
            value = self.assign(f"{field!r} in {operand}")
            self.bools.add(value)
        else:
            value = self.assign(f"{operand}[{field!r}]")  # KeyError: no such key
        return self.remember(key, value, operand)

    def reused(self, key: str, *operands: str) -> str | None:
        """What `key` (a computation of `operands`) already named at this point, if any; `key` is
        learnt by the caller's `remember`. Only about names assigned once (never accumulators)."""
        if any(o in self.mutable for o in operands):
            return None
        return self.lookup(key)

    def remember(self, key: str, value: str, *operands: str) -> str:
        if not any(o in self.mutable for o in operands):
            self.learn(key, value)
        return value

    def ident(self, name: str) -> str:
        for scope in reversed(self.scope):
            if name in scope:
                python, may_fail = scope[name]
                if may_fail and self.lookup(f"ok:{python}") is None:
                    self.emit(f"if {python} is _FAILED: raise _D")
                    self.learn(f"ok:{python}")
                return python
        if name in self.global_python:
            self.used_globals.add(name)
            return self.global_python[name]
        raise Unsupported(f"identifier {name}")  # a type name (int, string...) or unknown

    def boolean(self, node: Expr) -> str:
        value = self.expr(node)
        self.require("bool", value)
        return value

    def condition(self, node: Expr) -> str:
        """A Python expression for `node`, which must be a bool: a test written in place where it is
        a cheap one (has(), a comparison with a constant, a negation), else a checked value."""
        if isinstance(node, Select) and node.test_only:
            operand = self.expr(node.operand)
            self.require("dict", operand)
            return f"({node.field!r} in {operand})"
        if isinstance(node, Call) and node.target is None:
            if node.function == "!_" and len(node.args) == 1:
                return f"(not {self.condition(node.args[0])})"
            if node.function in ("_==_", "_!=_") and len(node.args) == 2:
                code = self.constant_equality(node.function == "_==_", *node.args)
                if code is not None:
                    return f"({code})"
        return self.boolean(node)

    def branch(self, node: Expr, target: str, known: dict[str, str] | None = None) -> str:
        """Emit, in a nested block, the statements assigning `node`'s value to `target`; return
        that value's name. `known`: what holds where the block runs."""
        self.enter()
        self.known[-1].update(known or {})
        value = self.expr(node)
        self.move(value, target)
        self.leave()
        return value

    def move(self, value: str, target: str) -> None:
        """`target = value`; when `value` was just computed into a temporary, that computation is
        assigned to `target` directly (one statement fewer on every branch)."""
        computed = f"{self.indent}{value} = "
        if value.startswith("v") and self.lines and self.lines[-1].startswith(computed):
            self.lines[-1] = f"{self.indent}{target} = {self.lines[-1][len(computed) :]}"
        else:
            self.emit(f"{target} = {value}")

    def call(self, node: Call) -> str:
        function, args = node.function, node.args
        if function in ("_&&_", "_||_") and node.target is None and len(args) == 2:
            left = self.condition(args[0])
            target = self.temp()
            self.bools.add(target)
            test = left if function == "_&&_" else f"not {left}"
            self.emit(f"if {test}:")
            self.enter()
            if function == "_&&_":
                self.known[-1].update(self.when_true.get(left, {}))
            right = self.condition(args[1])
            learnt = self.known[-1]
            self.move(right, target)
            if function == "_&&_":
                # (`move` may have assigned `right`'s computation to `target` instead: what names
                # `right` is dropped, never pointing at a name not assigned)
                names_right = re.compile(rf"\b{re.escape(right)}\b")
                self.when_true[target] = {
                    key: value
                    for key, value in learnt.items()
                    if not names_right.search(key) and not names_right.search(value)
                }
            self.leave()
            self.emit("else:")
            self.emit(f"    {target} = {'False' if function == '_&&_' else 'True'}")
            return target
        if function == "_?_:_" and node.target is None and len(args) == 3:
            condition = self.condition(args[0])
            target = self.temp()
            self.emit(f"if {condition}:")
            first = self.branch(args[1], target, self.when_true.get(condition))
            self.emit("else:")
            second = self.branch(args[2], target)
            if first in self.bools and second in self.bools:
                self.bools.add(target)
            if first in self.bool_lists and second in self.bool_lists:
                self.bool_lists.add(target)
            return target
        if function in ("!_", "@not_strictly_false") and node.target is None and len(args) == 1:
            if function == "@not_strictly_false":
                return self.boolean(args[0])
            negated = self.assign(f"not {self.condition(args[0])}")
            self.bools.add(negated)
            return negated
        if function == "dyn" and node.target is None and len(args) == 1:
            return self.expr(args[0])
        if function in ("_==_", "_!=_") and node.target is None and len(args) == 2:
            return self.equality(function == "_==_", args[0], args[1])
        if function == "matches" and node.target is not None and len(args) == 1:
            pattern = args[0].value if isinstance(args[0], Const) else None
            compiled = python_regex(pattern) if type(pattern) is str else None
            if compiled is None:
                raise Unsupported("matches with a pattern outside the RE2/Python common subset")
            subject = self.expr(node.target)
            key = f"matches:{subject}:{pattern!r}"
            if (known := self.reused(key, subject)) is not None:
                return known
            name = f"k{len(self.constants)}"
            self.constants[name] = compiled
            result = self.assign(f"_matches({subject}, {name})")
            self.bools.add(result)
            return self.remember(key, result, subject)
        if function == "@in" and node.target is None and len(args) == 2:
            literal = _string_literals(args[1])
            if literal is not None:  # folded at load: membership in a frozenset of strings
                item = self.expr(args[0])
                name = f"k{len(self.constants)}"
                self.constants[name] = literal
                found = self.assign(f"type({item}) is str and {item} in {name}")
                self.bools.add(found)
                return found
            if isinstance(args[0], Const) and type(args[0].value) is str:
                # `"key" in m`, the usual test of a map: in place on a dict, the helper otherwise
                item, container = repr(args[0].value), self.expr(args[1])
                key = f"in:{container}:{item}"
                if (known := self.reused(key, container)) is not None:
                    return known
                found = self.assign(
                    f"({item} in {container}) if type({container}) is dict else _in({item}, {container})"
                )
                self.bools.add(found)
                return self.remember(key, found, container)
        if function == "_[_]" and node.target is None and len(args) == 2:
            if isinstance(args[1], Const) and type(args[1].value) is str:
                return self.select(self.expr(args[0]), args[1].value)  # m["f"] is m.f on a map
            container, index = self.expr(args[0]), self.expr(args[1])
            key = f"index:{container}:{index}"
            if (known := self.reused(key, container, index)) is not None:
                return known
            code = f"_index({container}, {index})"
            position = args[1].value if isinstance(args[1], Const) and not args[1].unsigned else None
            # `l[0]`: in place on a list long enough (on a name: `None[0]` is a SyntaxWarning)
            if type(position) is int and position >= 0 and _is_name(container):
                in_place = f"type({container}) is list and len({container}) > {position}"
                code = f"{container}[{position}] if {in_place} else {code}"
            return self.remember(key, self.assign(code), container, index)
        if function == "_+_" and node.target is None and len(args) == 2:
            left, right = self.expr(args[0]), self.expr(args[1])
            if self.is_string(left) or self.is_string(right):  # a string concatenation
                for operand in (left, right):
                    if not self.is_string(operand):
                        self.require("str", operand)
                result = self.assign(f"{left} + {right}")
                self.strs.add(result)
                return result
            # Strings and lists (the common cases: paths, container lists) inline; the rest checked.
            result = self.temp()
            self.emit(f"if type({left}) is type({right}) and (type({left}) is str or type({left}) is list):")
            self.emit(f"    {result} = {left} + {right}")
            self.emit("else:")
            self.emit(f"    {result} = _add({left}, {right})")
            return result
        receiver = [node.target] if node.target is not None else []
        if function == "size" and len(receiver) + len(args) == 1:
            counted = (*receiver, *args)[0]
            if isinstance(counted, Comprehension) and _count_is_order_free(counted):
                self.only_counted.add(id(counted))
        helper = _FUNCTIONS.get((function, node.target is not None, len(receiver) + len(args)))
        if helper is None:
            raise Unsupported(f"function {function}")
        values = [self.expr(a) for a in (*receiver, *args)]
        result = self.assign(f"{helper}({', '.join(values)})")
        if helper in _BOOLEAN_HELPERS:
            self.bools.add(result)
        return result

    def equality(self, equal: bool, left: Expr, right: Expr) -> str:
        code = self.constant_equality(equal, left, right)
        if code is None:
            value, other = self.expr(left), self.expr(right)
            code = f"{'' if equal else 'not '}_eq({value}, {other})"
        result = self.assign(code)
        self.bools.add(result)
        return result

    def constant_equality(self, equal: bool, left: Expr, right: Expr) -> str | None:
        """Python for `left == right` (or !=) when one side is a constant it compares exactly with
        a Python operator, or for `type(x) == <type name>`; None otherwise (nothing emitted)."""
        if isinstance(left, Ident) and not isinstance(right, Ident):
            left, right = right, left
        if (
            isinstance(left, Call)
            and left.function == "type"
            and left.target is None
            and len(left.args) == 1
            and isinstance(right, Ident)
            and right.name in _TYPE_TESTS
            and not any(right.name in scope for scope in self.scope)
        ):
            value = self.expr(left.args[0])
            test = _TYPE_TESTS[right.name].format(value)
            return test if equal else f"not ({test})"
        if isinstance(left, Const) and not isinstance(right, Const):
            left, right = right, left
        if not isinstance(right, Const) or right.unsigned:
            return None
        constant = right.value
        small_int = type(constant) is int and -EXACT_FLOAT_INT <= constant <= EXACT_FLOAT_INT
        if not (constant is None or type(constant) in (bool, str) or small_int):
            return None
        value = self.expr(left)
        if not _is_name(value):
            value = self.assign(value)  # `1 is True` is a SyntaxWarning: compare a name
        if constant is None:
            return f"{value} is {'' if equal else 'not '}None"
        if type(constant) is bool:
            return f"{value} is {'' if equal else 'not '}{constant!r}"
        if type(constant) is str:
            # Python's str == is CEL's: other types are never equal to a string in either.
            return f"{value} {'==' if equal else '!='} {constant!r}"
        # ints and doubles compare by value in both; a bool is never equal to an int in CEL.
        test = f"({value} == {constant!r} and type({value}) is not bool)"
        return test if equal else f"not {test}"

    def comprehension(self, node: Comprehension) -> str:
        iterated_list = node.iter_range if isinstance(node.iter_range, CreateList) else None
        if iterated_list is not None and iterated_list.optional_indices:
            raise Unsupported("optional list elements")
        is_bind = iterated_list is not None and not iterated_list.elements
        accu = self.temp()
        if is_bind and not mentions(node.result, node.accu_var) and not _may_raise(node.accu_init):
            # A binding nothing uses: its value, or its error, cannot change the result.
            self.scope.append({node.accu_var: (accu, True)})
            result = self.expr(node.result)
            self.scope.pop()
            return result
        if is_bind:
            # cel.bind: the value is kept even if it fails; only a use of it defers (errors are values).
            self.emit("try:")
            self.enter()
            value = self.expr(node.accu_init)
            self.emit(f"{accu} = {value}")
            self.leave()
            self.emit("except _Abort:")
            self.emit("    raise")
            self.emit("except Exception:")
            self.emit(f"    {accu} = _FAILED")
            self.scope.append({node.accu_var: (accu, True)})
            result = self.expr(node.result)
            self.scope.pop()
            return result

        iterated = self.expr(node.iter_range)
        items = self.temp()
        self.emit(f"if type({iterated}) is list:")
        self.emit(f"    {items} = {iterated}")
        if _order_free(node) or id(node) in self.only_counted:
            self.emit(f"elif type({iterated}) is dict:")
            self.emit(f"    {items} = list({iterated})")
        self.emit("else:")
        self.emit("    raise _D")
        # The runtime fails an evaluation at its RUNTIME_ITERATIONS-th iteration: counted here at
        # each loop's start, as if it ran to the end (never fewer than it runs), handing over before
        # that count could be reached.
        self.loops = True
        self.emit(f"_it += len({items})")
        self.emit(f"if _it >= {RUNTIME_ITERATIONS}: raise _D")
        fresh = isinstance(node.accu_init, CreateList)
        init = self.expr(node.accu_init)
        self.emit(f"{accu} = {init}")
        if init in self.bools and _order_free(node) and isinstance(node.accu_init, Const):
            self.bools.add(accu)  # all, exists: a bool, then `accu && x` or `accu || x`: bools
        else:
            self.mutable.add(accu)
        element = self.temp()
        self.emit(f"for {element} in {items}:")
        self.enter()
        self.scope.append({node.iter_var: (element, False), node.accu_var: (accu, False)})
        if fresh:
            self.fresh_lists.add(accu)
        if not (isinstance(node.loop_condition, Const) and node.loop_condition.value is True):
            condition = self.condition(node.loop_condition)
            self.emit(f"if not {condition}: break")
        step = self.step(node.loop_step, node.accu_var, accu)
        if step != accu:
            self.emit(f"{accu} = {step}")
        self.scope[-1] = {node.accu_var: (accu, False)}  # the result sees only the accumulator
        self.leave()
        self.fresh_lists.discard(accu)
        result = self.expr(node.result)
        self.scope.pop()
        return result

    def step(self, node: Expr, accu_var: str, accu: str) -> str:
        """A loop step; `accu + [x]` on an accumulator list of our own appends instead of copying
        (map and filter would otherwise be quadratic)."""
        if (
            accu in self.fresh_lists
            and isinstance(node, Call)
            and node.function == "_+_"
            and node.target is None
            and isinstance(node.args[0], Ident)
            and node.args[0].name == accu_var
            and isinstance(node.args[1], CreateList)
            and not node.args[1].optional_indices
        ):
            for element in node.args[1].elements:
                self.emit(f"{accu}.append({self.expr(element)})")
            return accu
        if isinstance(node, Call) and node.function == "_?_:_" and node.target is None:
            condition = self.condition(node.args[0])
            self.emit(f"if {condition}:")
            for branch in node.args[1:]:
                self.enter()
                start = len(self.lines)
                value = self.step(branch, accu_var, accu)
                if value != accu:
                    self.emit(f"{accu} = {value}")
                if len(self.lines) == start:
                    self.emit("pass")
                self.leave()
                if branch is node.args[1]:
                    self.emit("else:")
            return accu
        return self.expr(node)


def _is_name(value: str) -> bool:
    """Is the Python expression `value` a variable (not a constant)?"""
    return value.isidentifier() and value not in ("True", "False", "None")


def _may_raise(node: Expr) -> bool:
    """May evaluating `node` raise in the real program rather than give a value or an error?
    (A map literal with two keys or more: a duplicate key raises.)"""
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, CreateStruct) and len(current.entries) > 1:
            return True
        pending.extend(children(current))
    return False


# --- regular expressions: the subset RE2 (CEL's `matches`) and Python's `re` read alike ---------------

_REGEX_SPECIAL = frozenset("\\.[](){}*+?|^$")


def python_regex(pattern: str) -> re.Pattern[str] | None:
    """`pattern` compiled by Python's `re` when it is in a subset RE2 reads identically and RE2 (as
    cel-expr-python runs it) accepts it; else None. The subset: literal characters, punctuation
    escaped with `\\`, `.`, `^`, `$` (a subject with a line break is left to CEL: see _matches),
    bracket sets of literal characters, escaped punctuation and ascending ranges (optionally
    negated, no `[` inside, no doubled `-&~|`), groups `(...)` and `(?:...)`, `|`, and the
    quantifiers `* + ? {n} {n,} {n,m}` (n, m <= 1000), optionally lazy. Outside it are the
    differences: classes such as `\\d` (ASCII in RE2, Unicode in Python), POSIX classes (`[[:alpha:]]`),
    `{,m}`, flags, lookarounds, backreferences, possessive quantifiers."""
    if not _in_common_subset(pattern):
        return None
    probe = admission_env().compile(f"''.matches({_cel_string(pattern)})").eval()
    if probe.type().name() != "BOOL":  # RE2 refuses it (a repetition too large, ...)
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return re.compile(pattern)
        except (re.error, Warning):
            return None


def _cel_string(text: str) -> str:
    """`text` as a CEL string literal (escapes for quotes, backslashes and control characters)."""
    out = []
    for c in text:
        if c in "\\'\"" or ord(c) < 0x20 or 0xD800 <= ord(c) < 0xE000:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else c)
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


def _in_common_subset(pattern: str) -> bool:
    i, n, depth = 0, len(pattern), 0
    atom = False  # can the previous token take a quantifier?
    while i < n:
        c = pattern[i]
        if c in "*+?{":
            if not atom:
                return False
            if c == "{":
                end = pattern.find("}", i)
                low, _, high = pattern[i + 1 : end].partition(",") if end > 0 else ("", "", "")
                if not _count(low) or (high and not _count(high)):
                    return False
                if int(low) > 1000 or (high and not int(low) <= int(high) <= 1000):
                    return False
                i = end + 1
            else:
                i += 1
            if i < n and pattern[i] == "?":  # lazy: the same yes/no answer
                i += 1
            atom = False
            continue
        if c == "\\":
            if i + 1 >= n or not _punctuation(pattern[i + 1]):
                return False
            i += 2
            atom = True
            continue
        if c == "[":
            end = _bracket_end(pattern, i + 1)
            if end < 0:
                return False
            i, atom = end, True
            continue
        if c == "(":
            if pattern.startswith("(?", i):
                if not pattern.startswith("(?:", i):
                    return False
                i += 2  # past `?:`
            depth += 1
            atom = False
        elif c == ")":
            if depth == 0:
                return False
            depth -= 1
            atom = True
        elif c in "|^$":
            atom = False
        elif c == "]" or c == "}":
            return False
        else:
            atom = True  # a literal character or `.`
        i += 1
    return depth == 0


def _count(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _punctuation(c: str) -> bool:
    return c.isascii() and not c.isalnum() and c.isprintable() and not c.isspace()


def _bracket_end(pattern: str, start: int) -> int:
    """The index after the `]` closing the bracket set whose body starts at `start`; -1 when the set
    is outside the common subset."""
    i, n = start, len(pattern)
    if i < n and pattern[i] == "^":
        i += 1
    items: list[str] = []
    while i < n and pattern[i] != "]":
        c = pattern[i]
        if c == "[":
            return -1
        if c == "\\":
            if i + 1 >= n or not _punctuation(pattern[i + 1]):
                return -1
            items.append(pattern[i + 1])
            i += 2
            continue
        if c in "-&~|" and i + 1 < n and pattern[i + 1] == c:
            return -1  # Python warns of a future set operation
        if c == "-" and items and i + 1 < n and pattern[i + 1] != "]":
            high = pattern[i + 1]
            if high in "[\\" or len(items[-1]) != 1 or items[-1] > high:
                return -1
            items[-1] = items[-1] + "-" + high
            i += 2
            continue
        items.append(c)
        i += 1
    if i >= n or not items:
        return -1
    return i + 1


def _string_literals(node: Expr) -> frozenset[str] | None:
    if isinstance(node, CreateList) and not node.optional_indices and node.elements:
        values = [e.value for e in node.elements if isinstance(e, Const)]
        if len(values) == len(node.elements) and all(type(v) is str for v in values):
            return frozenset(values)
    return None


def _order_free(node: Comprehension) -> bool:
    """Does the comprehension's result not depend on the iteration order (all, exists, exists_one)?
    CEL iterates a map in its own order, which need not be Python's."""
    accu = Ident(node.accu_var)
    step = node.loop_step
    if isinstance(node.accu_init, Const) and type(node.accu_init.value) is bool:
        return (
            isinstance(step, Call)
            and step.function in ("_&&_", "_||_")
            and step.args[0] == accu
            and node.result == accu
        )
    if isinstance(node.accu_init, Const) and node.accu_init.value == 0 and type(node.accu_init.value) is int:
        return (
            isinstance(step, Call)
            and step.function == "_?_:_"
            and step.args[2] == accu
            and step.args[1] == Call("_+_", None, (accu, Const(1)))
        )
    return False


def _count_is_order_free(node: Comprehension) -> bool:
    """Is the comprehension a `filter` or `map` (one element appended per iteration, or none, by a test
    and a value that do not read the accumulator), so that how many elements it gives does not depend
    on the iteration order? (Every iteration runs: an error occurs in any order or in none.)"""
    accu = Ident(node.accu_var)
    if not (
        isinstance(node.accu_init, CreateList)
        and not node.accu_init.elements
        and isinstance(node.loop_condition, Const)
        and node.loop_condition.value is True
        and node.result == accu
    ):
        return False
    step = node.loop_step
    test: Expr | None = None
    if isinstance(step, Call) and step.function == "_?_:_" and step.target is None and step.args[2] == accu:
        test, step = step.args[0], step.args[1]
    return (
        isinstance(step, Call)
        and step.function == "_+_"
        and step.target is None
        and step.args[0] == accu
        and isinstance(step.args[1], CreateList)
        and len(step.args[1].elements) == 1
        and not step.args[1].optional_indices
        and not mentions(step.args[1], node.accu_var)
        and (test is None or not mentions(test, node.accu_var))
    )


# --- the values the fast path may read ------------------------------------------------------------


NOT_PLAIN = -1
UNMEASURED = 2**31  # what a checker that does not measure gives as its bound: never within one


def checker(demand: Demand, *, measure: bool = False) -> Callable[[Any], int] | None:
    """A function telling whether the part of a value that `demand` observes (what demand.prune
    keeps, so what the real program converts) is plain data CEL represents as the same Python
    values: NOT_PLAIN if not. Otherwise, with `measure`, an upper bound of the longest list or map
    in that part once pruned (limits.longest_collection of it), which spares the comprehension bound
    pruning the value when it cannot be reached; without, UNMEASURED (rules that nest no
    comprehensions need no bound, and skip the counting). None: nothing to check (the part is null).

    Generated as straight-line Python, like the programs: it runs once per request and rule."""
    if demand is NONE:
        return None
    lines: list[str] = []
    _check_code(demand, "x0", "    ", lines, [0], measure)
    result = "n" if measure else str(UNMEASURED)
    source = "def check(x0):\n    n = 0\n" + "\n".join(lines) + f"\n    return {result}\n"
    namespace: dict[str, Any] = {"_plain": plain_longest, "_encodes": encodes}
    try:
        code = compile(source, "<cel value check>", "exec")
    except (SyntaxError, RecursionError, MemoryError):  # nested deeper than Python allows
        return plain_longest  # checks the whole value: more than needed, never less
    exec(code, namespace)  # generated from the demand's field names, each written with repr()
    check: Callable[[Any], int] = namespace["check"]
    return check


def _check_code(
    demand: Demand, value: str, indent: str, lines: list[str], count: list[int], measure: bool
) -> None:
    """Statements returning NOT_PLAIN unless the part of `value` that `demand` observes is plain;
    with `measure`, raising `n` to the length of each list and map that part keeps (a map's whole
    length: pruning only removes keys, so an upper bound)."""

    def whole() -> None:  # otherwise kept whole by pruning: walked by plain_longest
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    m = _plain({value})")
        if measure:
            lines.append(f"{indent}    if m > n: n = m")
            lines.append(f"{indent}    elif m == {NOT_PLAIN}: return m")
        else:
            lines.append(f"{indent}    if m == {NOT_PLAIN}: return m")

    def counted(kind: str) -> None:
        lines.append(f"{indent}if type({value}) is {kind}:")
        lines.append(f"{indent}    if len({value}) > n: n = len({value})" if measure else f"{indent}    pass")

    if demand is NONE:
        return
    if demand is FULL:  # scalars answered inline, containers walked
        lines.append(f"{indent}if {value} is None or {value} is True or {value} is False:")
        lines.append(f"{indent}    pass")
        lines.append(f"{indent}elif type({value}) is str:")
        lines.append(f"{indent}    if not {value}.isascii() and not _encodes({value}): return {NOT_PLAIN}")
        lines.append(f"{indent}elif type({value}) is int:")
        lines.append(f"{indent}    if not {INT_MIN} <= {value} <= {INT_MAX}: return {NOT_PLAIN}")
        whole()
        return
    if demand is KIND:  # pruned to {} or [] if a map or a list: only a scalar is converted
        lines.append(f"{indent}if type({value}) is dict or type({value}) is list:")
        lines.append(f"{indent}    pass")
        whole()
        return
    if isinstance(demand, Elements):
        counted("list")
        if demand.each is not NONE:
            count[0] += 1
            item = f"x{count[0]}"
            lines.append(f"{indent}    for {item} in {value}:")
            _check_code(demand.each, item, indent + "        ", lines, count, measure)
        whole()
        return
    assert isinstance(demand, Fields)
    counted("dict")
    for key, sub in demand.keys:
        if sub is NONE:
            continue
        count[0] += 1
        item = f"x{count[0]}"
        lines.append(f"{indent}    if {key!r} in {value}:")  # (cheaper than .get in CPython)
        lines.append(f"{indent}        {item} = {value}[{key!r}]")
        _check_code(sub, item, indent + "        ", lines, count, measure)
    whole()


_SCALARS = frozenset({type(None), bool, float})


def plain_longest(value: Any) -> int:
    """NOT_PLAIN unless all of `value` is plain (JSON-like data within CEL's int64, no lone
    surrogate); else the length of its longest list or map (limits.longest_collection)."""
    longest = 0
    pending = [value]
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind in _SCALARS:
            continue
        if kind is str:
            if not (node.isascii() or encodes(node)):
                return NOT_PLAIN
        elif kind is int:
            if not INT_MIN <= node <= INT_MAX:  # beyond int64: CEL makes it a uint or an error
                return NOT_PLAIN
        elif kind is dict:
            for key in node:
                if type(key) is not str or not (key.isascii() or encodes(key)):
                    return NOT_PLAIN
            if len(node) > longest:
                longest = len(node)
            pending.extend(node.values())
        elif kind is list:
            if len(node) > longest:
                longest = len(node)
            pending.extend(node)
        else:
            return NOT_PLAIN
    return longest


def encodes(text: str) -> bool:
    """Can `text` be encoded (no lone surrogate, which the CEL binding refuses)?"""
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: the CEL binding raises on it
        return False
    return True
