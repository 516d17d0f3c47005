"""A rule's validations joined into one program must not let one validation's `cel.bind` read what an
earlier validation's comprehension left in cel-expr-python (tests/test_cel_stale_bind.py)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from test_cel_rules import decide

from webhook.policy.cel.library import admission_env

# Each is right alone; joined, the second reads the container the first stopped before.
FIRST = "object.spec.containers.all(c, c.name == 'app')"
SECOND = "cel.bind(n, 7, n == 7)"
RULES = f"""\
- name: joined
  validations:
    - expression: "{FIRST}"
      message: not all containers are called app
    - expression: "{SECOND}"
      message: seven is not seven
"""
WITH_VARIABLES_AND_CONDITION = """\
- name: joined
  matchConditions:
    - {name: pods, expression: "object.kind == 'Pod'"}
  variables:
    - {name: names, expression: "object.spec.containers.map(c, c.name)"}
  validations:
    - expression: "variables.names.all(n, n == 'app')"
      message: not all containers are called app
    - expression: "cel.bind(n, 7, n == 7) && size(variables.names) > 0"
      message: seven is not seven
"""


def two_containers() -> dict[str, Any]:
    obj = pod()
    obj["spec"]["containers"] = [{"name": "web", "image": "web:1"}, {"name": "side", "image": "side:1"}]
    return obj


def test_the_joined_program_would_read_a_stale_binding() -> None:
    # The premise: without the separation, the runtime fails the second validation.
    joined = admission_env().compile(f"[dyn({FIRST}), dyn({SECOND})]")
    assert joined.eval(data={"object": two_containers()}).plain_value() == [False, False]
    alone = admission_env().compile(f"[dyn({SECOND})]")
    assert alone.eval(data={"object": two_containers()}).plain_value() == [True]


@pytest.mark.parametrize("rule", [RULES, WITH_VARIABLES_AND_CONDITION], ids=["plain", "variables"])
def test_each_validation_is_judged_as_alone(rule: str, cel_fast_path: bool) -> None:
    decision = decide(rule, two_containers())
    assert [v.message for v in decision.violations] == ["not all containers are called app [policy cel]"]
    named_app = pod()
    named_app["spec"]["containers"] = [{"name": "app", "image": "app:1"}]
    assert decide(rule, named_app).allowed


def test_a_false_match_condition_still_skips_every_validation(cel_fast_path: bool) -> None:
    obj = two_containers()
    obj["kind"] = "NotAPod"
    assert decide(WITH_VARIABLES_AND_CONDITION, obj).allowed


def test_an_error_in_one_validation_is_the_rule_s_error(cel_fast_path: bool) -> None:
    rule = RULES.replace("cel.bind(n, 7, n == 7)", "cel.bind(n, 7, n == 7) && object.missing == 1")
    decision = decide(rule, two_containers())
    assert [v.message for v in decision.violations] == [
        'policy cel could not evaluate rule joined: Key not found in map : "missing"; '
        "denied because its failurePolicy is Fail [policy cel]"
    ]


def test_a_match_condition_that_is_not_a_bool_fails_as_in_the_joined_program(cel_fast_path: bool) -> None:
    # The separated rule (the bind follows the loop) and a joined one (no bind) give the same error.
    separated = WITH_VARIABLES_AND_CONDITION.replace("object.kind == 'Pod'", "object.kind")
    joined = separated.replace("cel.bind(n, 7, n == 7)", "true")
    failures = [
        [v.message for v in decide(rule, two_containers()).violations] for rule in (separated, joined)
    ]
    assert failures[0] == failures[1]
    assert "could not evaluate rule joined" in failures[0][0]


BETWEEN_CONDITIONS = """\
- name: joined
  matchConditions:
    - {name: some-not-app, expression: "!object.spec.containers.all(c, c.name == 'app')"}
    - {name: seven, expression: "cel.bind(n, 7, n == 7)"}
  validations:
    - expression: "false"
      message: the rule ran
"""


def test_match_conditions_are_judged_as_alone_too() -> None:
    # Each condition is right alone and both hold; joined, the second reads the container the first's
    # all() stopped before, so without the fast path the rule is skipped (the fast path is right).
    with cel_fast_path_as(False):
        decision = decide(BETWEEN_CONDITIONS, two_containers())
    assert [v.message for v in decision.violations] == ["the rule ran [policy cel]"]


def test_conditions_run_apart_keep_the_meaning_of_and() -> None:
    # As `a && b` in CEL: a false condition skips the rule even where another fails; with none
    # false, the failure is the rule's error. The same with the fast path and without.
    failing = BETWEEN_CONDITIONS.replace(
        "  validations:", '    - {name: missing, expression: "object.spec.nokey == 1"}\n  validations:'
    )
    skipped = failing.replace(
        "  validations:",
        "    - {name: not-a-pod, expression: \"object.kind == 'Deployment'\"}\n  validations:",
    )
    for on in (True, False):
        with cel_fast_path_as(on):
            assert decide(skipped, two_containers()).violations == ()
            messages = [v.message for v in decide(failing, two_containers()).violations]
        assert len(messages) == 1 and "could not evaluate rule joined" in messages[0], messages
        assert "nokey" in messages[0], messages
