"""The fast path reuses, after `a && b` and in the first branch of `(a && b) ? x : y`, what `b` computed.

`has(c.s) && c.s != null && has(c.s.u) && c.s.u == 0` (how exported policies guard a field) selects
`c.s` once, not once per test. The reuse must hold exactly where the operand ran: the generated code
is differentially tested against cel-expr-python on random values, including where it does not run.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cel_to_python import KEYS, VALUES, agree, fast_program, plain

CHAINS = [
    "has(object.a) && object.a != null && has(object.a.b) && object.a.b != null && object.a.b == 1",
    "(has(object.a) && object.a != null && has(object.a.b)) ? object.a.b == true : object.k == 1",
    "(has(object.a) && object.a.b) ? object.a.b : object.a.c",
    "(object.k == 1 && object.a.b == 2) && object.a.c == 3",
    "object.a.b && object.a.c && object.a.b",
    "(has(object.a) && object.a.b) && (object.a.b || object.a.c)",
    "(has(object.a) || object.k == 1) && object.a.b == 1",
    "!(has(object.a) && object.a.b) ? object.a.c == 1 : object.a.b",
    "object.l.all(c, has(c.a) && c.a != null && has(c.a.b) && c.a.b != null && c.a.b == 0)",
    "object.l.all(c, (has(c.a) && c.a != null && has(c.a.m)) ? c.a.m == true : has(object.a) && object.a.m)",
    "cel.bind(v, object.a, has(v.b) && v.b != null && v.b.c == 1)",
    "[has(object.a) && object.a.b, has(object.a) && object.a.b == 1 && object.a.c == 2]",
    # `||` and the second branch of a ternary learn nothing: in a loop, what an earlier element computed
    # there must not be taken for this one's.
    "object.l.all(c, (has(c.a) && c.a.b == 1 || has(c.a) && c.a.c == 2) && c.a.c == 2)",
    "object.l.exists(c, !(has(c.a) && c.a.b == 1) ? has(c.a) && c.a.c == 2 : c.a.c == 3)",
    "object.l.all(c, (c.a.b == 1 || c.a.c == 2) && c.a.c == 2)",
    "object.l.exists(c, (c.a.b == 1 ? c.a.c == 2 : c.a.m == 2) && c.a.c == 2)",
]
PROGRAMS = [(source, *fast_program(source)) for source in CHAINS]
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(0, 3), st.sampled_from(["x", ""]))
INNER = st.dictionaries(st.sampled_from(["b", "c", "m"]), LEAVES, max_size=3)
OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "a": st.one_of(INNER, LEAVES, VALUES),
        "k": LEAVES,
        "l": st.lists(st.fixed_dictionaries({}, optional={"a": st.one_of(INNER, LEAVES)}), max_size=3),
    },
)


def test_every_chain_has_a_fast_path() -> None:
    assert [source for source, _, fast in PROGRAMS if fast is None] == []


def test_a_guarded_field_is_selected_once() -> None:
    _, _, fast = PROGRAMS[0]
    assert fast is not None
    assert fast.source.count("['a']") == 1
    assert fast.source.count("['b']") == 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=OBJECTS, extra=st.dictionaries(KEYS, VALUES, max_size=2))
def test_chains_answer_as_cel_or_not_at_all(obj: dict[str, Any], extra: dict[str, Any]) -> None:
    data = {"object": {**extra, **obj}}
    if not plain(data["object"]):
        return
    for source, program, fast in PROGRAMS:
        assert fast is not None
        try:
            agree(program, fast, data)
        except AssertionError as exc:
            raise AssertionError(f"{source} on {data!r}: {exc}") from None


@pytest.mark.parametrize(
    "obj",
    [
        {"a": {"b": 1, "c": 3}, "k": 1},
        {"a": {"b": True, "c": False, "m": True}, "l": [{"a": {"b": 0, "m": True}}, {"a": None}, {}]},
        {"a": {"m": True}, "l": [{"a": {"m": False}}, {}]},
        {"l": [{"a": {"b": 0, "c": 2, "m": 2}}, {"a": {"b": 1, "c": 3, "m": 2}}]},
        {"a": None, "k": 1},
        {},
    ],
)
def test_chains_answer_on_ordinary_values(obj: dict[str, Any]) -> None:
    answered = 0
    for source, program, fast in PROGRAMS:
        assert fast is not None
        try:
            answered += agree(program, fast, {"object": obj})
        except AssertionError as exc:
            raise AssertionError(f"{source} on {obj!r}: {exc}") from None
    assert answered  # (some answer on each: the comparison is not vacuous)
