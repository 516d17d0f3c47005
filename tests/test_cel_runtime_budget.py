"""cel-expr-python's own iteration budget (limits.RUNTIME_ITERATIONS): an evaluation fails at its
10,000th comprehension iteration. podgate's decisions must not depend on the fast path, which has no
such budget of its own: it hands over before it could be reached, and the runtime's refusal is worded
as an evaluation error (the policy's failurePolicy decides), not a raw exception.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from test_cel_rules import decide

from webhook.policy.cel.library import admission_env
from webhook.policy.cel.limits import RUNTIME_ITERATIONS


def test_the_runtime_budget_is_what_podgate_assumes() -> None:
    # Fails once the runtime changes its budget: RUNTIME_ITERATIONS must then follow it.
    program = admission_env().compile("object.l.all(a, true) && !object.l.exists(b, b < 0)")
    half = RUNTIME_ITERATIONS // 2
    assert program.eval(data={"object": {"l": list(range(half - 1))}}).plain_value() is True
    with pytest.raises(RuntimeError, match="Iteration budget exceeded"):
        program.eval(data={"object": {"l": list(range(half))}})


def _with_list(length: int) -> dict[str, Any]:
    obj = pod()
    obj["spec"]["l"] = list(range(length))
    return obj


def _decided_alike(rule: str, obj: dict[str, Any]) -> tuple[bool, list[str]]:
    decisions = []
    for on in (True, False):
        with cel_fast_path_as(on):
            decision = decide(rule, obj)
        decisions.append((decision.allowed, [v.message for v in decision.violations]))
    assert decisions[0] == decisions[1]
    return decisions[0]


def _rule(expression: str, message_expression: str = "") -> str:
    extra = f", messageExpression: {message_expression!r}" if message_expression else ""
    return f'- name: r\n  validations: [{{expression: "{expression}", message: static{extra}}}]\n'


@pytest.mark.parametrize(
    ("expression", "length", "allowed"),
    [
        ("object.spec.l.all(x, x >= 0)", RUNTIME_ITERATIONS - 1, True),
        ("object.spec.l.all(x, x >= 0)", RUNTIME_ITERATIONS, False),  # the runtime's refusal
        ("object.spec.l.exists(x, x == 3)", RUNTIME_ITERATIONS, True),  # stops early: within budget
        ("!object.spec.l.exists(x, x < 0) && object.spec.l.all(x, x >= 0)", 4999, True),  # summed
        ("!object.spec.l.exists(x, x < 0) && object.spec.l.all(x, x >= 0)", 5000, False),
        ("object.spec.l.all(x, object.spec.l.all(y, x + y >= 0))", 99, True),
        ("object.spec.l.all(x, object.spec.l.all(y, x + y >= 0))", 100, False),
        ("object.spec.l.all(x, cel.bind(y, x, y >= 0))", RUNTIME_ITERATIONS - 1, True),  # binds: free
    ],
)
def test_decisions_at_the_budget_do_not_depend_on_the_fast_path(
    expression: str, length: int, allowed: bool
) -> None:
    decided, messages = _decided_alike(_rule(expression), _with_list(length))
    assert decided is allowed
    if not allowed:
        assert len(messages) == 1
        # Worded once, for its reader: the policy and rule named by the engine, no Python class name.
        assert (
            "could not evaluate rule r: more than 9,999 comprehension iterations, the CEL runtime's budget:"
            " refused; denied because its failurePolicy is Fail" in messages[0]
        )


def test_a_message_over_the_budget_falls_back_to_the_static_message() -> None:
    # As the API server does with a messageExpression that fails.
    rule = _rule("object.spec.l.size() == 0", "string(object.spec.l.all(x, x >= 0))")
    assert _decided_alike(rule, _with_list(50)) == (False, ["true [policy cel]"])
    assert _decided_alike(rule, _with_list(RUNTIME_ITERATIONS)) == (False, ["static [policy cel]"])
