"""What of its input an expression can observe, so that only that part is converted into CEL values.

Converting a request's Python values into CEL values costs about half a microsecond per node, far
more than evaluating a typical rule: a rule reading `runAsUser` of each container would pay for the
whole object. So each rule's program is analysed once, at load, for the parts of each variable it can
observe (its *demand*), and per request only those parts are converted (`prune`).

A demand is one of:

  FULL          the value may be observed in any way: kept whole
  NONE          the value is produced but never looked at (e.g. a field only tested with `has()`):
                replaced by null
  KIND          only whether it is null, a map, a list... is looked at (`x != null`): a map becomes
                {}, a list [], anything else is kept
  Fields(keys)  only selected fields are looked at (`x.f`, `has(x.f)`, `x['f']`): a map keeps just
                those keys (each pruned by its own demand); any other value is kept whole
  Elements(d)   only the elements are looked at, each as `d` (iteration, list concatenation,
                `size`): a list keeps every element, each pruned by `d`; any other value is kept whole

Pruning only removes what no operation of the program can reach, and never changes the kind of a
value that is looked at, so the program gives the same result and the same errors on the pruned value
as on the whole one. Whatever the analysis does not recognise (an unknown function, a map iterated, a
computed key) demands FULL: an unknown construct costs speed, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .ast import (
    Call,
    Comprehension,
    Const,
    CreateList,
    CreateStruct,
    Expr,
    Ident,
    Select,
    children,
)


class _Full:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FULL"


class _Kind:
    __slots__ = ()

    def __repr__(self) -> str:
        return "KIND"


FULL = _Full()
KIND = _Kind()
NONE = None


@dataclass(frozen=True, slots=True)
class Fields:
    keys: tuple[tuple[str, Demand], ...]  # sorted by key, so equal demands compare equal

    def get(self, key: str) -> Demand:
        for name, demand in self.keys:
            if name == key:
                return demand
        return NONE


@dataclass(frozen=True, slots=True)
class Elements:
    each: Demand


Demand = _Full | _Kind | Fields | Elements | None


def field(key: str, demand: Demand) -> Fields:
    return Fields(((key, demand),))


def join(a: Demand, b: Demand) -> Demand:
    """The demand of a value observed both as `a` and as `b`."""
    if a is NONE or (a is KIND and b is not NONE):
        return b
    if b is NONE or b is KIND or a == b:
        return a
    if isinstance(a, Fields) and isinstance(b, Fields):
        merged = dict(a.keys)
        for key, demand in b.keys:
            merged[key] = join(merged[key], demand) if key in merged else demand
        return Fields(tuple(sorted(merged.items())))
    if isinstance(a, Elements) and isinstance(b, Elements):
        return Elements(join(a.each, b.each))
    return FULL


Pruner = Callable[[Any], Any]


def prune(value: Any, demand: Demand) -> Any:
    """`value` reduced to what `demand` can observe."""
    reduce = pruner(demand)
    return value if reduce is None else reduce(value)


def pruner(demand: Demand) -> Pruner | None:
    """The function that reduces a value to what `demand` can observe (None: keep it whole).

    Built once per rule at load, so a request pays only for walking the parts it keeps.
    """
    if demand is FULL:
        return None
    if demand is NONE:
        return _to_null
    if demand is KIND:
        return _to_kind
    if isinstance(demand, Elements):
        each = pruner(demand.each)
        if each is None:
            return None

        def elements(value: Any) -> Any:
            return [each(item) for item in value] if type(value) is list else value

        return elements
    assert isinstance(demand, Fields)
    keys = tuple((key, pruner(sub)) for key, sub in demand.keys)

    def fields(value: Any) -> Any:
        # type() first: isinstance against an ABC costs more than the rest of this function
        if type(value) is not dict and not isinstance(value, Mapping):
            return value
        kept = {}
        for key, reduce in keys:
            item = value.get(key, _ABSENT)
            if item is not _ABSENT:
                kept[key] = item if reduce is None else reduce(item)
        return kept

    return fields


_ABSENT = object()


def _to_null(value: Any) -> None:
    return None


def _to_kind(value: Any) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return {}
    return [] if type(value) is list else value


# Calls whose result is one of their arguments' values unchanged (their demand passes through).
_PASS_THROUGH = frozenset({"dyn"})
# `size` observes only the number of elements (or the string, map...: kept whole, see prune).
_COUNTS = frozenset({"size"})
_EQUALITY = frozenset({"_==_", "_!=_"})
_MAX_ROUNDS = 16  # a comprehension's accumulator demand settles in 2-3 rounds; past this: FULL


def _is_null(node: Expr) -> bool:
    return isinstance(node, Const) and node.value is None


class _Cell:
    """The demand collected on one variable (a global, a comprehension's variable or accumulator)."""

    __slots__ = ("demand",)

    def __init__(self) -> None:
        self.demand: Demand = NONE

    def add(self, demand: Demand) -> None:
        self.demand = join(self.demand, demand)


def demands(root: Expr, variables: tuple[str, ...]) -> dict[str, Demand]:
    """The demand of `root`'s result (FULL) on each of the global `variables` it references.

    A variable absent from the result is not referenced at all; one mapped to NONE is referenced but
    never looked at (it must still be defined).
    """
    cells = {name: _Cell() for name in variables}
    _Analysis(cells).visit(root, FULL, {})
    referenced = _referenced(root, set(variables))
    return {name: cell.demand for name, cell in cells.items() if name in referenced}


def _referenced(root: Expr, names: set[str]) -> set[str]:
    """The global `names` `root` mentions (shadowing ignored: a superset is harmless)."""
    found: set[str] = set()
    pending: list[Expr] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, Ident):
            head = node.name.split(".", 1)[0]
            if head in names:
                found.add(head)
        else:
            pending.extend(children(node))
    return found


class _Analysis:
    def __init__(self, globals_: dict[str, _Cell]) -> None:
        self.globals = globals_

    def visit(self, node: Expr, demand: Demand, scope: dict[str, _Cell]) -> None:
        if isinstance(node, Const):
            return
        if isinstance(node, Ident):
            self._ident(node.name, demand, scope)
        elif isinstance(node, Select):
            self.visit(node.operand, field(node.field, NONE if node.test_only else demand), scope)
        elif isinstance(node, Call):
            self._call(node, demand, scope)
        elif isinstance(node, CreateList):
            each = self._each(demand)
            for i, element in enumerate(node.elements):
                self.visit(element, FULL if i in node.optional_indices else each, scope)
        elif isinstance(node, CreateStruct):
            for entry in node.entries:
                key = entry.key
                if key is not None:
                    self.visit(key, FULL, scope)
                value_demand: Demand = FULL
                if not node.message_name and not entry.optional and demand is not FULL:
                    if demand is NONE or demand is KIND:
                        value_demand = NONE
                    elif isinstance(demand, Fields) and isinstance(key, Const) and isinstance(key.value, str):
                        value_demand = demand.get(key.value)
                self.visit(entry.value, value_demand, scope)
        elif isinstance(node, Comprehension):
            self._comprehension(node, demand, scope)
        else:  # pragma: no cover - the reader yields no other node
            raise TypeError(node)

    def _ident(self, name: str, demand: Demand, scope: dict[str, _Cell]) -> None:
        cell = scope.get(name)
        if cell is not None:
            cell.add(demand)
            return
        head, dot, _ = name.partition(".")
        cell = scope.get(head) or self.globals.get(head)
        if cell is not None:
            cell.add(FULL if dot else demand)

    @staticmethod
    def _each(demand: Demand) -> Demand:
        """The demand on each element of a list observed as `demand`."""
        if demand is NONE or demand is KIND:
            return NONE
        if isinstance(demand, Elements):
            return demand.each
        return FULL

    def _call(self, node: Call, demand: Demand, scope: dict[str, _Cell]) -> None:
        function, args = node.function, node.args
        if node.target is None:
            if function in _PASS_THROUGH and len(args) == 1:
                self.visit(args[0], demand, scope)
                return
            if function == "_?_:_" and len(args) == 3:
                self.visit(args[0], FULL, scope)
                self.visit(args[1], demand, scope)
                self.visit(args[2], demand, scope)
                return
            if function == "_[_]" and len(args) == 2 and isinstance(args[1], Const):
                key = args[1].value
                if isinstance(key, str):
                    self.visit(args[0], field(key, demand), scope)
                    return
                if type(key) is int:
                    self.visit(args[0], Elements(demand), scope)
                    return
            if function in _EQUALITY and len(args) == 2 and _is_null(args[0]) != _is_null(args[1]):
                # `x == null`: only whether x is null; pruning keeps a map a map and a list a list
                self.visit(args[1] if _is_null(args[0]) else args[0], KIND, scope)
                return
            if function == "_+_" and len(args) == 2 and demand is KIND:
                self.visit(args[0], KIND, scope)  # the kind of a sum is the kind of its operands
                self.visit(args[1], KIND, scope)
                return
            if function == "_+_" and len(args) == 2 and (demand is NONE or isinstance(demand, Elements)):
                each = Elements(self._each(demand))
                self.visit(args[0], each, scope)
                self.visit(args[1], each, scope)
                return
            if function in _COUNTS and len(args) == 1:
                self.visit(args[0], Elements(NONE), scope)
                return
            if function == "_?._" and len(args) == 2 and isinstance(args[1], Const):
                key = args[1].value
                if isinstance(key, str):  # `x.?f`: an optional of the field, observed in any way
                    self.visit(args[0], field(key, FULL), scope)
                    return
        elif function in _COUNTS and not args:  # x.size()
            self.visit(node.target, Elements(NONE), scope)
            return
        if node.target is not None:
            self.visit(node.target, FULL, scope)
        for arg in args:
            self.visit(arg, FULL, scope)

    def _comprehension(self, node: Comprehension, demand: Demand, scope: dict[str, _Cell]) -> None:
        element, accumulator = _Cell(), _Cell()
        inner = {**scope, node.iter_var: element, node.accu_var: accumulator}
        after = {**scope, node.accu_var: accumulator}  # the result does not see the iteration variable
        for _ in range(_MAX_ROUNDS):
            before = (element.demand, accumulator.demand)
            self.visit(node.result, demand, after)
            self.visit(node.loop_condition, FULL, inner)
            self.visit(node.loop_step, accumulator.demand, inner)
            if (element.demand, accumulator.demand) == before:
                break
        else:
            element.demand = accumulator.demand = FULL
            self.visit(node.result, FULL, after)
            self.visit(node.loop_step, FULL, inner)
        self.visit(node.accu_init, accumulator.demand, scope)
        self.visit(node.iter_range, Elements(element.demand), scope)
