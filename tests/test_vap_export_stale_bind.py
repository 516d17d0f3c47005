"""The exported policies never give cel-expr-python's stale `cel.bind` bug a chance: podgate's own
evaluation of its export, without the fast path, words the rule's message (not an evaluation error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POLICIES, cel_fast_path_as
from test_vap_export import FIXTURES, NATIVE, with_namespace_labels

from webhook.inputs import object_request
from webhook.policy import Request, evaluate
from webhook.policy.cel import rules
from webhook.policy.cel.stale_bind import SeparatePrograms, program_hazards
from webhook.policy.yamlio import load_documents

QUANTITIES = "container resources must be Kubernetes quantities such as 500m, 2 or 512Mi"


def expression_rules() -> list[tuple[str, rules._RuleEvaluator]]:
    found = []
    for policy in NATIVE:
        for rule in policy.rules:
            if isinstance(rule.run_request, rules._RuleEvaluator):
                found.append((policy.name, rule.run_request))
    return found


def test_no_exported_rule_has_the_shape_the_slot_model_knows() -> None:
    checked = expression_rules()
    assert {name for name, _ in checked} >= {"podgate-resource-limits", "podgate-trusted-registries"}
    for name, evaluator in checked:
        program = evaluator.program.program
        runs = [program]
        if isinstance(program, SeparatePrograms):
            runs = [*program.conditions, *program.validations]
        assert all(program_hazards(each) == [] for each in runs), name


def test_rules_with_their_own_binds_after_loops_run_their_validations_apart() -> None:
    # The sound detector (no slot model) decides: no-privileged's translations bind inside `all`.
    separate = {
        name
        for name, evaluator in expression_rules()
        if isinstance(evaluator.program.program, SeparatePrograms)
    }
    assert {"podgate-no-privileged", "podgate-resource-limits", "podgate-trusted-registries"} <= separate
    assert "podgate-no-root" not in separate  # its only binds are the rule's variables


def test_the_exported_resource_limits_words_an_invalid_quantity(cel_fast_path: bool) -> None:
    fixture = Path(POLICIES) / "tests" / "resource-limits" / "fail-invalid-quantity.yaml"
    (document,) = load_documents(fixture)
    request = with_namespace_labels(object_request(document))
    decision = evaluate(NATIVE, request)
    limits = [v for v in decision.violations if v.policy == "podgate-resource-limits"]
    assert [v.message.split(" [policy")[0] for v in limits] == [QUANTITIES]


@pytest.mark.parametrize(("name", "request_"), FIXTURES, ids=[name for name, _ in FIXTURES])
def test_the_exported_rules_never_fail_to_evaluate_on_a_fixture(name: str, request_: Request) -> None:
    with cel_fast_path_as(False):
        decision = evaluate(NATIVE, with_namespace_labels(request_))
    # A rule that raised is worded by Policy.rule_failed: a denial (Fail, as every export) or a note.
    failed = [v.message for v in decision.violations] + list(decision.notes)
    assert [m for m in failed if "could not evaluate rule" in m] == [], name
