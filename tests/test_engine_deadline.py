"""The evaluation deadline holds inside a policy, and warnings fold in linear time.

Found by the pathological-input fault run (bench/faults.py): a pod with thousands of containers made one
policy's rules run long past the deadline, which was only looked at between policies, and the de-duplication
of warnings was quadratic in the number of violations.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from conftest import pod

from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.engine import DeadlineExceeded, decide
from webhook.policy.registry import CHECKS
from webhook.policy.result import Violation

TWO_RULES = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: two-rules}
spec:
  description: Two rules in one policy.
  remediation: Fix it.
  actions: [Deny]
  rules: [{check: no-root, name: first}, {check: trusted-registries, name: second, params: {registries: [example.com]}}]
"""


def test_the_deadline_is_looked_at_between_rules_of_one_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def slow(params: Any) -> Any:
        def run(pod: Any) -> Any:
            ran.append("first")
            time.sleep(0.5)  # longer than the deadline below
            return iter(())

        return run

    def recorder(params: Any) -> Any:
        def run(pod: Any) -> Any:
            ran.append("second")
            return iter(())

        return run

    monkeypatch.setitem(CHECKS, "no-root", dataclasses.replace(CHECKS["no-root"], build=slow))
    monkeypatch.setitem(
        CHECKS, "trusted-registries", dataclasses.replace(CHECKS["trusted-registries"], build=recorder)
    )
    policies = load_policy_text(TWO_RULES)
    with pytest.raises(DeadlineExceeded, match="before rule 'second' of 'two-rules'"):
        evaluate(policies, Request(object=pod()), deadline=time.monotonic() + 0.25)
    assert ran == ["first"]


def violation(message: str, actions: tuple[str, ...] = ("Warn",)) -> Violation:
    return Violation(
        policy="p",
        rule="r",
        check="c",
        actions=actions,
        path="spec",
        value=None,
        message=message,
        remediation="",  # type: ignore[arg-type]
    )


def test_warnings_keep_their_order_without_duplicates() -> None:
    decision = decide([violation("b"), violation("a"), violation("b"), violation("c", ("Audit",))], {}, [])
    assert decision.warnings == ("b", "a")
    assert decision.audit_annotations == {"p": "c"}
