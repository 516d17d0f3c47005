"""`podgate lint` warns about expressions whose shape lets cel-expr-python's stale `cel.bind` bug show,
naming file, document and field, and never about the shipped library or its export."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import POLICIES, cel_fast_path_as, pod
from test_cel_rules import policy
from test_vap_export import RESULT

from webhook.cli import main
from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.cel.stale_bind_lint import stale_bind_warnings

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
