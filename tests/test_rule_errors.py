"""A rule that raises is judged the same way on both paths (pod checks in engine.py, access checks in
sessions.py), through `Policy.rule_failed`: a denial under failurePolicy Fail, a note under Ignore."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from check_helpers import policy_text
from conftest import pod
from incident_fixtures import incident_review, request_of, shipped

from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.registry import CHECKS
from webhook.policy.result import Violation


def test_a_pod_check_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(params: Any) -> Any:
        def run(pod: Any) -> Any:
            raise RuntimeError("boom")

        return run

    monkeypatch.setitem(CHECKS, "no-root", dataclasses.replace(CHECKS["no-root"], build=broken))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": pod()["spec"]}},
    }
    closed = evaluate(
        load_policy_text(policy_text("no-root", {}, name="no-root", failurePolicy="Fail")),
        Request(object=deployment),
    )
    detail = "policy no-root could not evaluate rule no-root: RuntimeError: boom"
    assert closed.violations == (
        Violation(
            policy="no-root",
            rule="no-root",
            check="no-root",
            actions=("Deny",),
            path="spec.template.spec",
            value=None,
            message=f"{detail}; denied because its failurePolicy is Fail [policy no-root]",
            remediation="Fix it.",
        ),
    )
    opened = evaluate(
        load_policy_text(policy_text("no-root", {}, name="no-root", failurePolicy="Ignore")),
        Request(object=deployment),
    )
    assert opened.allowed and opened.violations == ()
    assert opened.notes == (f"{detail}; ignored because its failurePolicy is Ignore",)


def test_an_access_check_that_raises() -> None:
    policies = shipped("forensic-hold")
    review = incident_review("pod-connect-exec.json")
    closed = evaluate(policies, request_of(review, None))  # the held-pod cache knows nothing yet
    (violation,) = closed.violations
    policy = policies.policies[0]
    rule = policy.access_rules[0]
    prefix = f"policy forensic-hold could not evaluate rule {rule.name}: TargetUnknown: "
    assert violation == Violation(
        policy="forensic-hold",
        rule=rule.name,
        check=rule.check,
        actions=policy.actions,
        path="metadata",
        value=None,
        message=violation.message,
        remediation=policy.remediation,
    )
    assert violation.message.startswith(prefix)
    assert violation.message.endswith("; denied because its failurePolicy is Fail [policy forensic-hold]")
    relaxed = dataclasses.replace(policies, policies=(dataclasses.replace(policy, failure_policy="Ignore"),))
    opened = evaluate(relaxed, request_of(review, None))
    assert opened.allowed and opened.violations == ()
    reason = violation.message[
        len(prefix) : -len("; denied because its failurePolicy is Fail [policy forensic-hold]")
    ]
    assert opened.notes == (f"{prefix}{reason}; ignored because its failurePolicy is Ignore",)
