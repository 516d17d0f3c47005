"""The checked syntax tree of a compiled expression, read from the CEL runtime's own serialization.

cel-expr-python has no syntax-tree API, but `Expression.serialize()` returns the checked expression as
a `google.protobuf.Any` holding a `cel.expr.CheckedExpr`. No package on PyPI ships Python classes for
`cel.expr` (googleapis-common-protos dropped `google.api.expr`), so the few messages podgate reads
are decoded here from the protobuf wire format (field numbers from cel-spec's `syntax.proto` and
`checked.proto`). Anything not understood raises `UnknownSyntax`: the caller then assumes the worst
(see demand.py), so a future field can make podgate slower, never wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any


class UnknownSyntax(ValueError):
    """The serialized expression holds something this reader does not know."""


@dataclass(frozen=True, slots=True)
class Const:
    value: Any  # str, int, float, bool, bytes or None
    unsigned: bool = False  # a uint constant (`1u`): its value is an int like an int constant's


@dataclass(frozen=True, slots=True)
class Ident:
    name: str


@dataclass(frozen=True, slots=True)
class Select:
    operand: Expr
    field: str
    test_only: bool  # has(operand.field)


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    target: Expr | None
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class CreateList:
    elements: tuple[Expr, ...]
    optional_indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    key: Expr | None  # a map literal's key; None for a message field
    value: Expr
    optional: bool


@dataclass(frozen=True, slots=True)
class CreateStruct:
    message_name: str  # "" for a map literal
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Comprehension:
    iter_var: str
    iter_range: Expr
    accu_var: str
    accu_init: Expr
    loop_condition: Expr
    loop_step: Expr
    result: Expr


Expr = Const | Ident | Select | Call | CreateList | CreateStruct | Comprehension


def children(node: Expr) -> tuple[Expr, ...]:
    """`node`'s direct subexpressions, in evaluation order (a call's target before its arguments, a
    map entry's key before its value)."""
    if isinstance(node, Select):
        return (node.operand,)
    if isinstance(node, Call):
        return (*((node.target,) if node.target is not None else ()), *node.args)
    if isinstance(node, CreateList):
        return node.elements
    if isinstance(node, CreateStruct):
        return tuple(x for e in node.entries for x in (e.key, e.value) if x is not None)
    if isinstance(node, Comprehension):
        return (node.iter_range, node.accu_init, node.loop_condition, node.loop_step, node.result)
    return ()


def mentions(node: Expr, name: str) -> bool:
    """Does `name` appear as an identifier in `node` (shadowed or not: a superset is harmless)?"""
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, Ident) and current.name == name:
            return True
        pending.extend(children(current))
    return False


def checked_expression(serialized: bytes) -> Expr:
    """The root of the tree in `Expression.serialize()` output (Any -> CheckedExpr -> expr)."""
    any_value = _only(_fields(serialized), 2, bytes, "Any.value")
    return _expr(_only(_fields(any_value), 4, bytes, "CheckedExpr.expr"))


# --- wire format ---------------------------------------------------------------------------------

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _fields(data: bytes) -> dict[int, list[int | bytes]]:
    """field number -> values in order: ints for varints, bytes for everything else."""
    fields: dict[int, list[int | bytes]] = {}
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, i = _varint(data, i)
        elif wire == _BYTES:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
            if i > n:
                raise UnknownSyntax("truncated length-delimited field")
        elif wire == _FIXED64:
            value, i = data[i : i + 8], i + 8
        elif wire == _FIXED32:
            value, i = data[i : i + 4], i + 4
        else:
            raise UnknownSyntax(f"wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data):
            raise UnknownSyntax("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _only(fields: dict[int, list[int | bytes]], number: int, kind: type, what: str) -> Any:
    values = fields.get(number)
    if not values or not isinstance(values[-1], kind):
        raise UnknownSyntax(f"{what} missing")
    return values[-1]


def _text(fields: dict[int, list[int | bytes]], number: int) -> str:
    values = fields.get(number)
    if not values:
        return ""
    value = values[-1]
    if not isinstance(value, bytes):
        raise UnknownSyntax(f"field {number} is not a string")
    return value.decode()


def _known(fields: dict[int, list[int | bytes]], allowed: set[int], what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise UnknownSyntax(f"{what} has unknown fields {sorted(unknown)}")


def _expr(data: bytes) -> Expr:
    fields = _fields(data)
    _known(fields, {1, 2, 3, 4, 5, 6, 7, 8, 9}, "Expr")  # 1: reserved, 2: id
    if 3 in fields:
        return _const(_only(fields, 3, bytes, "const"))
    if 4 in fields:
        ident = _fields(_only(fields, 4, bytes, "ident"))
        _known(ident, {1}, "Ident")
        return Ident(_text(ident, 1))
    if 5 in fields:
        select = _fields(_only(fields, 5, bytes, "select"))
        _known(select, {1, 2, 3}, "Select")
        return Select(
            _expr(_only(select, 1, bytes, "Select.operand")), _text(select, 2), bool(select.get(3, [0])[-1])
        )
    if 6 in fields:
        call = _fields(_only(fields, 6, bytes, "call"))
        _known(call, {1, 2, 3}, "Call")
        target = _expr(_only(call, 1, bytes, "Call.target")) if 1 in call else None
        return Call(_text(call, 2), target, tuple(_expr(_as_bytes(a)) for a in call.get(3, [])))
    if 7 in fields:
        created = _fields(_only(fields, 7, bytes, "list"))
        _known(created, {1, 2}, "CreateList")
        return CreateList(
            tuple(_expr(_as_bytes(e)) for e in created.get(1, [])), _packed_ints(created.get(2, []))
        )
    if 8 in fields:
        created = _fields(_only(fields, 8, bytes, "struct"))
        _known(created, {1, 2}, "CreateStruct")
        return CreateStruct(_text(created, 1), tuple(_entry(_as_bytes(e)) for e in created.get(2, [])))
    if 9 in fields:
        loop = _fields(_only(fields, 9, bytes, "comprehension"))
        _known(loop, {1, 2, 3, 4, 5, 6, 7}, "Comprehension")  # 8, iter_var2, is refused
        return Comprehension(
            iter_var=_text(loop, 1),
            iter_range=_expr(_only(loop, 2, bytes, "iter_range")),
            accu_var=_text(loop, 3),
            accu_init=_expr(_only(loop, 4, bytes, "accu_init")),
            loop_condition=_expr(_only(loop, 5, bytes, "loop_condition")),
            loop_step=_expr(_only(loop, 6, bytes, "loop_step")),
            result=_expr(_only(loop, 7, bytes, "result")),
        )
    raise UnknownSyntax("Expr without a kind")


def _as_bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise UnknownSyntax("expected a message")
    return value


def _packed_ints(values: list[int | bytes]) -> tuple[int, ...]:
    out: list[int] = []
    for value in values:
        if isinstance(value, int):
            out.append(value)
            continue
        i = 0
        while i < len(value):
            number, i = _varint(value, i)
            out.append(number)
    return tuple(out)


def _entry(data: bytes) -> Entry:
    fields = _fields(data)
    _known(fields, {1, 2, 3, 4, 5}, "Entry")
    key = _expr(_only(fields, 3, bytes, "Entry.map_key")) if 3 in fields else None
    if key is None and 2 not in fields:
        raise UnknownSyntax("Entry without a key")
    return Entry(key, _expr(_only(fields, 4, bytes, "Entry.value")), bool(fields.get(5, [0])[-1]))


def _const(data: bytes) -> Const:
    fields = _fields(data)
    _known(fields, {1, 2, 3, 4, 5, 6, 7}, "Constant")
    if 6 in fields:
        return Const(_text(fields, 6))
    if 3 in fields or 4 in fields:
        raw = fields.get(3, fields.get(4, [0]))[-1]
        if not isinstance(raw, int):
            raise UnknownSyntax("integer constant")
        if 4 in fields:
            return Const(raw, unsigned=True)
        return Const(raw - (1 << 64) if raw >= 1 << 63 else raw)
    if 2 in fields:
        return Const(bool(fields[2][-1]))
    if 5 in fields:
        return Const(struct.unpack("<d", _as_bytes(fields[5][-1]))[0])
    if 7 in fields:
        return Const(_as_bytes(fields[7][-1]))
    if 1 in fields:
        return Const(None)
    raise UnknownSyntax("Constant without a value")
