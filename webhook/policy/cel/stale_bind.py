"""Where cel-expr-python's stale `cel.bind` bug can show, found on the checked syntax tree.

The runtime (cel-cpp) keeps comprehension variables in numbered slots and evaluates a `cel.bind` value
lazily: the first read of the bound name looks in its slot and evaluates the value only if the slot is
empty. A comprehension that stops before its last element (`all` at a false, `exists` at a true) leaves
its iteration variable's slot filled with the next element; a `cel.bind` evaluated later whose name lives
in the same slot then reads that element instead of its value. CEL (and cel-go, in the API server) give
the bound value.

The slot layout below was measured (tests/test_cel_stale_bind.py pins each case against the runtime):

- a comprehension at slot d holds its variable in d and its accumulator in d+1; its range, loop and
  result are planned from d+2. Finishing normally clears d and d+1; stopping early leaves d filled;
- `cel.bind` at slot d holds its name in d; its value is planned from d+1, and its body after every slot
  its value uses (d+1+slots of the value). Leaving the bind clears d, read or not;
- evaluation is left to right (`&&`, `||` and `?:` may skip a side; a loop body runs again after itself).

`hazards` follows that model over every evaluation order, so it may warn where the runtime happens to be
right (a short-circuit that never skips, a list that is never long enough). The model is inferred from
experiments, and a property test found a shape it misses; so `podgate lint` warns with it (fewer false
alarms), while the decision that matters for results, whether a rule's validations run apart, uses
`may_share_a_slot`, which needs no slot model.
"""

from __future__ import annotations

import functools
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
    UnknownSyntax,
    checked_expression,
    children,
    mentions,
)
from .library import BOUND_PREFIX, admission_env

_BIND_ITER_VAR = "#unused"  # what the `cel.bind` macro names its iteration variable


@dataclass(frozen=True, slots=True)
class StaleBind:
    """A `cel.bind` that may read the variable of a comprehension that stopped early."""

    name: str  # the bound name
    stopped: str  # the iteration variable of the comprehension that may leave it


def is_bind(node: Expr) -> bool:
    return (
        isinstance(node, Comprehension)
        and node.iter_var == _BIND_ITER_VAR
        and node.iter_range == CreateList((), ())
        and node.loop_condition == Const(False)
    )


def stops_early(node: Comprehension) -> bool:
    """`all`/`exists` (and hand-written loops) test a condition before each element; map, filter and
    exists_one run to the end."""
    return not is_bind(node) and node.loop_condition != Const(True)


def hazards(root: Expr) -> list[StaleBind]:
    """Every `cel.bind` of `root` that may read a stale slot, in evaluation order, without repeats."""
    found: dict[StaleBind, None] = {}
    _visit(root, 0, {}, found)
    return list(found)


def may_share_a_slot(root: Expr) -> list[StaleBind]:
    """The binds `hazards` flags and more: every `cel.bind` whose name is read while a loop that can
    stop early sits neither inside it nor around it, wherever the runtime places them.

    `hazards` follows a slot model inferred from experiments, and a property test found a shape it
    misses (tests/test_cel_stale_bind.py pins it). This relies only on what every experiment agrees
    on: a node nested inside a comprehension or a bind is planned above its slot. So it is sound where
    soundness matters (rules.compile_rule decides with it whether a rule's validations run apart), at
    the price of flagging shapes the runtime gets right. The binds podgate puts around a rule's
    expressions (one chain, each layer inside the previous one's body, planned after its value's
    slots; pinned) are not flagged.
    """
    nodes: list[tuple[Comprehension, int, int]] = []  # each comprehension, its subtree's pre-order span
    _number(root, 0, nodes)
    loops = [(node, first, last) for node, first, last in nodes if stops_early(node)]
    found: dict[StaleBind, None] = {}
    for bind, first, last in nodes:
        if not is_bind(bind) or _ours(bind.accu_var) or not mentions(bind.result, bind.accu_var):
            continue
        for loop, loop_first, loop_last in loops:
            inside = first <= loop_first and loop_last <= last
            around = loop_first <= first and last <= loop_last
            if not inside and not around:
                found[StaleBind(bind.accu_var, loop.iter_var)] = None
                break
    return list(found)


def _ours(name: str) -> bool:
    return name.startswith(BOUND_PREFIX) or name == "variables"


def _number(node: Expr, index: int, nodes: list[tuple[Comprehension, int, int]]) -> int:
    """Number `node`'s subtree in pre-order from `index`, recording each comprehension's span; return
    the next free number."""
    first = index
    index += 1
    for child in children(node):
        index = _number(child, index, nodes)
    if isinstance(node, Comprehension):
        nodes.append((node, first, index - 1))
    return index


# Slot -> the iteration variable of a comprehension that may have stopped early there.
_Dirty = dict[int, str]


def _visit(node: Expr, slot: int, dirty: _Dirty, found: dict[StaleBind, None]) -> _Dirty:
    """The slots possibly left filled after evaluating `node` planned from `slot`, given `dirty` before."""
    if isinstance(node, Const | Ident):
        return dirty
    if isinstance(node, Select):
        return _visit(node.operand, slot, dirty, found)
    if isinstance(node, Call):
        parts = children(node)
        if node.function in ("_&&_", "_||_") and len(parts) == 2:
            left = _visit(parts[0], slot, dirty, found)
            return _union(left, _visit(parts[1], slot, left, found))
        if node.function == "_?_:_" and len(parts) == 3:
            condition = _visit(parts[0], slot, dirty, found)
            return _union(_visit(parts[1], slot, condition, found), _visit(parts[2], slot, condition, found))
        return _sequence(parts, slot, dirty, found)
    if isinstance(node, CreateList | CreateStruct):
        return _sequence(children(node), slot, dirty, found)
    if is_bind(node):
        return _bind(node, slot, dirty, found)
    return _comprehension(node, slot, dirty, found)


def _sequence(parts: tuple[Expr, ...], slot: int, dirty: _Dirty, found: dict[StaleBind, None]) -> _Dirty:
    for part in parts:
        dirty = _visit(part, slot, dirty, found)
    return dirty


def _bind(node: Comprehension, slot: int, dirty: _Dirty, found: dict[StaleBind, None]) -> _Dirty:
    if slot in dirty and mentions(node.result, node.accu_var):
        found[StaleBind(node.accu_var, dirty[slot])] = None
    # The value is evaluated at the first read, so anywhere in the body: its slots and the body's are
    # apart (the body is planned after the value's), so either order gives the same slots.
    value = _visit(node.accu_init, slot + 1, dirty, found)
    body = _visit(node.result, slot + 1 + _slots(node.accu_init), _union(dirty, value), found)
    after = _union(value, body)
    after.pop(slot, None)
    return after


def _comprehension(node: Comprehension, slot: int, dirty: _Dirty, found: dict[StaleBind, None]) -> _Dirty:
    inner = slot + 2
    dirty = _visit(node.iter_range, inner, dirty, found)
    dirty = _visit(node.accu_init, inner, dirty, found)
    # The loop runs its condition and step once per element: what one iteration leaves, the next sees.
    entering = dirty
    while True:
        condition = _visit(node.loop_condition, inner, entering, found)
        step = _visit(node.loop_step, inner, condition, found)
        widened = _union(entering, _union(condition, step))
        if widened.keys() == entering.keys():
            break
        entering = widened
    after = _visit(node.result, inner, entering, found)
    after = {s: v for s, v in after.items() if s not in (slot, slot + 1)}
    if stops_early(node):
        after[slot] = node.iter_var
    return after


def _union(a: _Dirty, b: _Dirty) -> _Dirty:
    return {**a, **b} if b else dict(a)


def _slots(node: Expr) -> int:
    """How many slots the runtime gives `node`'s comprehensions and binds (as measured: see above)."""
    own = 0 if not isinstance(node, Comprehension) else 1 if is_bind(node) else 2
    return own + sum(_slots(child) for child in children(node))


def program_hazards(program: Any) -> list[StaleBind]:
    """`hazards` of a compiled cel-expr-python program ([] when its tree cannot be read: the reader
    knows every node the CEL parser makes, see ast.py)."""
    try:
        return hazards(checked_expression(program.serialize()))
    except UnknownSyntax:
        return []


class _Result:
    """What a program's `eval` returns, for the few methods podgate calls (rules.Compiled.eval)."""

    __slots__ = ("_type", "_value")

    def __init__(self, value: Any, type_name: str) -> None:
        self._value = value
        self._type = type_name

    def plain_value(self) -> Any:
        return self._value

    def type(self) -> _Result:
        return self

    def name(self) -> str:
        return self._type


class SeparatePrograms:
    """A rule's match conditions and validations run one program each on one activation, where joining
    them would let a later one's `cel.bind` read what an earlier one's comprehension left (see
    rules.compile_rule). Gives what the joined program gives: [] when a match condition is false
    (even where another fails: CEL's `&&`), else the first condition's error, else one value per
    validation or the first error."""

    __slots__ = ("conditions", "validations")

    def __init__(self, conditions: list[Any], validations: list[Any]) -> None:
        self.conditions = conditions  # each gives a bool
        self.validations = validations  # each gives a one-element list

    def eval(self, activation: Any = None, *, data: Any = None) -> Any:
        if activation is None:
            activation = admission_env().Activation(data)
        failure = None
        for program in self.conditions:
            result = program.eval(activation)
            value = None if _is_error(result) else result.plain_value()
            if value is False:
                return _Result([], "list")
            if value is not True and failure is None:
                failure = result if _is_error(result) else _not_a_condition()
        if failure is not None:
            return failure
        values: list[Any] = []
        for program in self.validations:
            result = program.eval(activation)
            if _is_error(result):
                return result
            values += result.plain_value()
        return _Result(values, "list")


@functools.cache
def _not_a_condition() -> Any:
    """The runtime's own error for a match condition that is not a bool, worded as the joined program
    (`(conditions) ? [...] : []`) words it."""
    return admission_env().compile("dyn(0) ? [] : []").eval()


def _is_error(result: Any) -> bool:
    return result.type().name() in ("*error*", "ERROR")
