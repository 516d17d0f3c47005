"""`podgate lint` warns about expressions whose shape lets cel-expr-python's stale `cel.bind` bug show,
naming file, document and field, and never about the shipped library or its export."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import POLICIES, cel_fast_path_as, pod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cel_rules import policy
from test_cel_stale_bind import expressions
from test_vap_export import RESULT

from webhook.cli import main
from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.cel.rules import variable_binder
from webhook.policy.cel.stale_bind_lint import _hazards, stale_bind_warnings
from webhook.policy.document import ExpressionRule

POLICY = policy(
    """\
- name: r
  variables:
    - {name: first, expression: "object.spec.containers.exists(c, c.name == 'app')"}
    - {name: seven, expression: "7"}
  validations:
    - expression: "cel.bind(n, 7, n == 7) && object.spec.containers.all(c, c.name != '')"
      message: the bind comes first, the comprehension after; fine
    - expression: "[object.spec.containers.all(c, c.name == 'app'), cel.bind(n, 7, n == 7)].all(b, b)"
      message: a sibling bind after an all()
    - expression: "variables.first || variables.seven == 7"
      messageExpression: "cel.bind(n, 'x', [object.spec.containers.all(c, c.name == 'app'), n]).join(',')"
"""
)


def test_the_hazardous_expressions_are_named_with_the_workaround(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    assert main(["lint", str(tmp_path)]) == 0  # a warning, not a problem: the policy loads and runs
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok: 1 policy")
    warnings = out[1:]
    assert [w.split(": warning")[0] for w in warnings] == [
        f"{tmp_path / 'p.yaml'}: document 0: spec.rules[0].validations[1].expression"
    ]
    assert "cel.bind(n, ...) may read 'c'" in warnings[0]
    assert "move the cel.bind outward (around the comprehension) or before it" in warnings[0]


def test_a_bind_inside_the_comprehension_it_follows_is_not_flagged(tmp_path: Path) -> None:
    # the messageExpression binds n around the comprehension: its slot is below the loop's
    (tmp_path / "p.yaml").write_text(POLICY)
    paths = [w.path for w in stale_bind_warnings(tmp_path)]
    assert "spec.rules[0].validations[2].messageExpression" not in paths
    assert "spec.rules[0].validations[0].expression" not in paths


def test_rule_variables_bound_around_an_expression_do_not_add_a_hazard(tmp_path: Path) -> None:
    # variables.first's exists() stops at its first true; variables.seven is bound after the slots
    # first's value uses, so it cannot read what that loop left: no warning, and the runtime is right.
    rule_text = POLICY.replace(
        "variables.first || variables.seven == 7", "[variables.first, variables.seven == 7].all(b, b)"
    )
    (tmp_path / "p.yaml").write_text(rule_text)
    assert "spec.rules[0].validations[2].expression" not in [w.path for w in stale_bind_warnings(tmp_path)]
    obj = pod()
    obj["spec"]["containers"] = [{"name": n, "image": f"{n}:1"} for n in ("app", "side", "third")]
    with cel_fast_path_as(False):
        decision = evaluate(load_policy_text(rule_text, "p.yaml"), Request(object=obj))
    assert [v.message.split(" [policy")[0] for v in decision.violations] == ["a sibling bind after an all()"]


def test_the_shipped_library_and_its_export_give_no_warning(tmp_path: Path) -> None:
    assert stale_bind_warnings(POLICIES) == []
    (tmp_path / "exported.yaml").write_text(yaml.safe_dump_all(RESULT.documents))
    assert stale_bind_warnings(tmp_path) == []


def test_a_variable_s_hazard_is_named_once_at_the_variable(tmp_path: Path) -> None:
    # The rule binds the variable around every expression; none of those has a bind of its own.
    rule = """\
- name: r
  variables:
    - {name: x, expression: "[object.spec.containers.all(c, c.name == 'app'), cel.bind(n, 7, n == 7)]"}
  matchConditions:
    - {name: pods, expression: "object.kind == 'Pod'"}
  validations:
    - expression: "object.spec.containers.size() > 0"
      messageExpression: "'no containers'"
"""
    (tmp_path / "p.yaml").write_text(policy(rule))
    assert [w.path for w in stale_bind_warnings(tmp_path)] == ["spec.rules[0].variables[0].expression"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(expressions(), min_size=1, max_size=3), body=expressions(), reads=st.integers(0, 3))
def test_the_variables_bound_around_an_expression_add_no_hazard_it_and_they_lack_alone(
    values: list[str], body: str, reads: int
) -> None:
    # Why the lint analyses each expression alone: under the slot model, the rule's cel.bind layers
    # (each body planned after its value's slots) add nothing to the hazards of the pieces.
    names = [f"v{i}" for i in range(len(values))][:reads]
    body = f"[dyn({body}), {', '.join(f'dyn(variables.{n})' for n in names)}]" if names else body
    variables = [{"name": f"v{i}", "expression": value} for i, value in enumerate(values)]
    rule = ExpressionRule.model_validate(
        {"name": "r", "variables": variables, "validations": [{"expression": body, "message": "m"}]}
    )
    bind = variable_binder(rule)
    assert bind is not None
    layered = bind(body)
    assert layered is not None
    alone = set(_hazards(body)).union(*(_hazards(value) for value in values))
    assert set(_hazards(layered)) <= alone
