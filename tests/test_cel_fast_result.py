"""A rule's fast path knows at compile time when its result is a list of bools (`bool_list`), and the
rule then trusts it without checking each element; everywhere else the result is still checked, and
a result that is not a list of bools hands over to cel-expr-python, which words the error."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from hypothesis import HealthCheck, given, settings
from test_cel_pruning import EXPRESSIONS
from test_cel_rules import decide, policy
from test_cel_to_python import OBJECTS, SHAPES, evaluator, fast_program, plain
from test_vap_export import NATIVE

from webhook.policy import Request, load_policy_text
from webhook.policy.cel import rules
from webhook.policy.podspec import pod_view

# Each corpus expression as a rule's program joins validations: `[dyn(...), ...]`, under a condition.
RULE_SHAPES = [
    shape
    for source in [*EXPRESSIONS, *SHAPES]
    for shape in (
        f"[dyn({source})]",
        f"[dyn({source}), true]",
        f"(object.kind == 'Pod') ? [dyn({source})] : []",
        f"cel.bind(x, object, [dyn({source}), !has(x.zz)])",
    )
]
RULE_CORPUS = [(shape, fast) for shape in RULE_SHAPES if (fast := fast_program(shape)[1]) is not None]


def test_bool_lists_are_recognised_and_only_those() -> None:
    known = {shape for shape, fast in RULE_CORPUS if fast.bool_list}
    # Comparisons, has(), !, &&, ||, all/exists, `in` give bools; a selection or arithmetic does not.
    assert "[dyn(object.a == 1)]" in known
    assert "(object.kind == 'Pod') ? [dyn(object.a == 1)] : []" in known
    assert "[dyn(object.a)]" not in known
    assert "[dyn(object.a), true]" not in known
    assert "(object.kind == 'Pod') ? [dyn(object.a)] : []" not in known
    assert len(known) > len(RULE_CORPUS) / 4  # most of the corpus is made of boolean expressions
    assert fast_program("[true, false, !(object.a == 1)]")[1].bool_list  # type: ignore[union-attr]
    assert fast_program("[]")[1].bool_list  # type: ignore[union-attr]
    assert not fast_program("[1]")[1].bool_list  # type: ignore[union-attr]
    assert not fast_program("true")[1].bool_list  # type: ignore[union-attr]  # a bool, not a list


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=OBJECTS)
def test_a_program_known_to_give_a_bool_list_gives_one_whenever_it_answers(obj: dict[str, Any]) -> None:
    data = {"object": obj, "request": {"operation": "CREATE"}, "params": obj.get("m")}
    if not all(plain(value) for value in data.values()):
        return
    for shape, fast in RULE_CORPUS:
        if not fast.bool_list:
            continue
        try:
            result = fast.run(data)
        except Exception:
            continue  # handed over
        assert type(result) is list, (shape, obj, result)
        assert all(type(passed) is bool for passed in result), (shape, obj, result)


def test_every_exported_rule_with_a_fast_path_is_known_to_give_bools() -> None:
    for p in NATIVE.policies:
        for r in p.rules:
            fast = evaluator(r).program.fast
            assert fast is None or fast.bool_list, p.name


def test_a_non_boolean_validation_on_the_fast_path_hands_over_and_is_an_error() -> None:
    text = "- name: r\n  validations: [{expression: 'object.kind'}, {expression: 'true'}]\n"
    loaded = load_policy_text(policy(text), "p.yaml")
    run = evaluator(loaded.policies[0].rules[0])
    assert run.program.fast is not None and not run.program.fast.bool_list
    obj = pod()
    assert run.program.fast.run({"object": obj}) == ["Pod", True]  # the fast function answers...
    pod_ = pod_view(obj, "Pod")
    assert pod_ is not None
    assert run._fast(run.program, pod_, Request(object=obj), list) is None  # ...and is not trusted
    for fast_path in (True, False):
        with cel_fast_path_as(fast_path):
            decision = decide(text, obj)
        assert not decision.allowed
        assert "validation 0 returned 'Pod', not a boolean" in decision.violations[0].message


def test_a_failing_validation_on_a_known_bool_list_is_found() -> None:
    text = (
        "- name: r\n  validations:\n"
        "    - {expression: \"object.kind == 'Pod'\", message: one}\n"
        "    - {expression: \"object.kind != 'Pod'\", message: two}\n"
    )
    loaded = load_policy_text(policy(text), "p.yaml")
    run = evaluator(loaded.policies[0].rules[0])
    assert run.program.fast is not None and run.program.fast.bool_list
    decision = decide(text, pod())
    assert [v.message for v in decision.violations] == ["two [policy cel]"]


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("expression", ["object.kind == 'Pod'", "object.kind == 'Pod' ? true : object.x"])
def test_the_time_bound_holds_on_both_results_and_both_paths(
    monkeypatch: pytest.MonkeyPatch, fast_path: bool, expression: str
) -> None:
    text = f'- name: r\n  validations: [{{expression: "{expression}"}}]\n'
    run = evaluator(load_policy_text(policy(text), "p.yaml").policies[0].rules[0])
    assert run.program.fast is not None  # a known bool list for the first, a checked result for the second
    assert run.program.fast.bool_list == (expression == "object.kind == 'Pod'")
    monkeypatch.setattr(rules, "MAX_RULE_SECONDS", 0.0)
    monkeypatch.setattr(rules, "FAST_PATH", fast_path)
    slow = decide(text, pod())
    assert not slow.allowed
    assert "more than the 0 ms bound" in slow.violations[0].message
