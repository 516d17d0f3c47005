"""The CEL fast path's Kubernetes quantity functions (cel/to_python.py) answer what the runtime
answers, or defer: for every function, on quantities, on strings that are not quantities, on values
of the wrong CEL type and on tagged maps of another tag or shape."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from test_cel_rules import policy
from test_cel_to_python import agree, fast_program

from webhook.inputs import Request
from webhook.policy import evaluate, load_policy_text
from webhook.policy.cel.ast import checked_expression
from webhook.policy.cel.library import admission_env
from webhook.policy.cel.to_python import _count_is_order_free

# Values the functions meet through a variable (`dyn`), so that the runtime's overload dispatch, not
# the type checker, decides: the fast path must defer wherever no overload matches.
TEXTS = ["100Mi", "1.5", "-2", "500m", "1e3", "0", "9223372036854775807", "1Ei", "", "abc", "1.2.3", "Mi"]
QUANTITIES = [
    {"@quantity": t} for t in ("100Mi", "1.5", "-2", "500m", "0", "1e3", "9223372036854775807", "8Ei")
]
WRONG = [
    {"@quantity": "nope"},  # the right tag, not a quantity
    {"@url": "https://x"},  # another tag
    {"@quantity": 5},  # not a string inside
    {"@quantity": "1", "extra": "2"},  # more than the tag
    {},
    "100Mi",  # a string where a quantity is expected
    7,  # an int: add and sub take one
    True,  # not an int in CEL
    1.5,
    None,
    ["1"],
]
INTS = [0, 3, -5, 2**62, -(2**63)]

UNARY_TEXT = ["quantity(x)", "isQuantity(x)"]
UNARY = ["x.isInteger()", "x.asInteger()", "x.asApproximateFloat()", "x.sign()"]
BINARY = ["x.add(y)", "x.sub(y)", "x.isGreaterThan(y)", "x.isLessThan(y)", "x.compareTo(y)"]


def check(source: str, data: dict[str, Any]) -> bool:
    """Does the fast path answer (then as the runtime does)? `data`'s names are `object`'s fields."""
    source = re.sub(r"\b([xyabcm])\b", r"object.\1", source)
    data = {"object": data}
    program, fast = fast_program(source)
    assert fast is not None, source
    return agree(program, fast, data)


@pytest.mark.parametrize("source", UNARY_TEXT)
def test_quantity_and_is_quantity(source: str) -> None:
    answered = [x for x in [*TEXTS, *WRONG, *QUANTITIES] if check(source, {"x": x})]
    if source == "isQuantity(x)":
        assert answered == [*TEXTS, "100Mi"]  # a bool for every string, deferred for everything else
    else:  # the runtime's error for a string that is not a quantity: deferred
        assert answered == [*(t for t in TEXTS if t not in ("", "abc", "1.2.3", "Mi")), "100Mi"]


@pytest.mark.parametrize("source", UNARY)
def test_unary_quantity_methods(source: str) -> None:
    answered = [x for x in [*QUANTITIES, *WRONG, *TEXTS] if check(source, {"x": x})]
    assert all(type(x) is dict for x in answered)
    assert {"@quantity": "100Mi"} in answered
    if source == "x.asInteger()":  # 1.5, 500m are not integers: the runtime's error, deferred
        assert {"@quantity": "1.5"} not in answered and {"@quantity": "8Ei"} not in answered
    else:
        assert len(answered) == len(QUANTITIES)


@pytest.mark.parametrize("source", BINARY)
def test_binary_quantity_methods(source: str) -> None:
    answered = 0
    for x, y in itertools.product([*QUANTITIES[:5], *WRONG[:7]], [*QUANTITIES[:5], *WRONG, *INTS]):
        answered += check(source, {"x": x, "y": y})
    quantities = 5 * 5
    with_ints = 5 * (len(INTS) + 1) if source in ("x.add(y)", "x.sub(y)") else 0
    assert answered == quantities + with_ints


def test_chained_arithmetic_agrees() -> None:
    source = "quantity(a).add(quantity(b)).add(c).sub(quantity(a)).compareTo(quantity(b).add(c))"
    for a, b, c in itertools.product(["1Gi", "500m", "-3", "1e2"], ["2", "0.5", "1Ki"], [0, 7, -9]):
        assert check(source, {"a": a, "b": b, "c": c})
    # an int beyond int64 never reaches either (CEL cannot carry it); a sum beyond int64 is exact in both
    assert check("quantity(a).add(quantity(a)).asApproximateFloat()", {"a": "9223372036854775807"})


def test_size_of_a_filter_over_a_map_answers_in_any_order() -> None:
    source = "m.filter(k, m[k] == null || !isQuantity(m[k])).size()"
    assert check(source, {"m": {"cpu": "1", "memory": None, "gpu": "x", "eph": "2Gi"}})
    assert check("size(m.map(k, k + '!'))", {"m": {"a": 1, "b": 2}})
    # a filter whose order is observed (its list, its first element) still defers on maps
    assert not check("m.filter(k, true)", {"m": {"a": 1, "b": 2}})
    assert not check("m.filter(k, true)[0]", {"m": {"a": 1, "b": 2}})
    assert check("m.filter(k, true)", {"m": ["a", "b"]})  # a list: its own order


def test_count_is_order_free_only_for_filter_and_map_shapes() -> None:
    def comprehension(source: str) -> Any:
        return checked_expression(
            admission_env().compile(source).serialize()
        ).target  # x.size(): the receiver

    assert _count_is_order_free(comprehension("object.m.filter(k, k != '').size()"))
    assert _count_is_order_free(comprehension("object.m.map(k, k).size()"))
    assert _count_is_order_free(comprehension("object.m.map(k, k != '', k).size()"))
    assert not _count_is_order_free(comprehension("[object.m.all(k, k != '')].size()").elements[0])


RULE = policy(
    """\
- name: cpu-at-most-2
  validations:
    - expression: >-
        object.spec.containers.all(c, !has(c.resources.limits.cpu)
        || quantity(string(c.resources.limits.cpu)).compareTo(quantity('2')) <= 0)
"""
)


@pytest.mark.parametrize("cpu", ["1", "2", "2001m", "3", 1, 3, "not-a-quantity", True])
def test_a_rule_judges_alike_with_and_without_the_fast_path(cpu: Any) -> None:
    loaded = load_policy_text(RULE, "p.yaml")
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": cpu}}
    with cel_fast_path_as(True):
        fast = evaluate(loaded, Request(object=obj))
    with cel_fast_path_as(False):
        slow = evaluate(loaded, Request(object=obj))
    assert (fast.allowed, [v.message for v in fast.violations]) == (
        slow.allowed,
        [v.message for v in slow.violations],
    )
