"""`substring(start, null)` is an error in CEL, not `substring(start)`: the fast path must hand over
(found by test_the_fast_path_answers_as_cel_or_not_at_all)."""

from __future__ import annotations

import pytest

from webhook.policy.cel.ast import checked_expression
from webhook.policy.cel.library import ADMISSION_VARIABLES, admission_env
from webhook.policy.cel.to_python import Defer, compile_fast


def test_an_explicit_null_end_is_not_the_end_of_the_string() -> None:
    program = admission_env().compile("object.a.substring(0, object.b)")
    fast = compile_fast(checked_expression(program.serialize()), ADMISSION_VARIABLES)
    assert fast is not None
    data = {"object": {"a": "x", "b": None}}
    assert program.eval(data=data).type().name() in ("*error*", "ERROR")
    with pytest.raises(Defer):  # it hands over to the real program
        fast.run(data)
    assert fast.run({"object": {"a": "xy", "b": 1}}) == "x"


def test_substring_without_an_end_still_runs_to_the_end() -> None:
    program = admission_env().compile("object.a.substring(1)")
    fast = compile_fast(checked_expression(program.serialize()), ADMISSION_VARIABLES)
    assert fast is not None and fast.run({"object": {"a": "xyz"}}) == "yz"
