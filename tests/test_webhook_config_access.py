"""`podgate webhook-config` for access policies: the sessions and holds webhooks derived from them."""

from __future__ import annotations

import dataclasses
from typing import Any

import kubernetes_validate
import pytest
import yaml
from _deploy import ROOT

from webhook.deploy.webhook_config import GenerationError, webhook_configurations
from webhook.policy import PolicySet, load_policies, load_policy_text
from webhook.policy.model import AccessRule


def access_policy(name: str, check: str, operations: list[str], params: dict[str, Any]) -> PolicySet:
    return load_policy_text(
        yaml.safe_dump(
            {
                "apiVersion": "podgate.io/v1alpha1",
                "kind": "Policy",
                "metadata": {"name": name},
                "spec": {
                    "description": "d",
                    "remediation": "r",
                    "match": {"operations": operations, "kinds": ["Pod"]},
                    "rules": [{"check": check, "params": params}],
                },
            }
        ),
        f"{name}.yaml",
    )


def hooks(policies: PolicySet) -> dict[str, dict[str, Any]]:
    (validating, *_) = webhook_configurations(policies, failure_policy="Fail")
    kubernetes_validate.validate(validating, "1.37.0", strict=True)
    return {hook["name"]: hook for hook in validating["webhooks"]}


def operations(hook: dict[str, Any]) -> dict[str, list[str]]:
    return {r: rule["operations"] for rule in hook["rules"] for r in rule["resources"]}


def test_exec_control_alone_needs_sessions_and_debug_only() -> None:
    policies = access_policy("exec", "exec-control", ["CONNECT", "UPDATE"], {"grants": []})
    found = hooks(policies)
    assert set(found) == {"validate.podgate.io", "sessions.incident.podgate.io"}
    assert found["validate.podgate.io"]["rules"] == []  # no pod-spec policy: nothing else is sent
    sessions = found["sessions.incident.podgate.io"]
    assert sessions["failurePolicy"] == "Ignore"  # even when the configuration fails closed
    assert operations(sessions) == {
        "pods/attach": ["CONNECT"],
        "pods/exec": ["CONNECT"],
        "pods/portforward": ["CONNECT"],
        "pods/ephemeralcontainers": ["UPDATE"],  # kubectl debug: no pod-spec webhook sends it here
    }


def test_a_hold_policy_sends_evictions_and_held_objects_only() -> None:
    policies = access_policy("hold", "forensic-hold", ["UPDATE", "DELETE", "CONNECT"], {})
    found = hooks(policies)
    holds = found["holds.incident.podgate.io"]
    assert holds["failurePolicy"] == "Fail"
    assert holds["objectSelector"] == {"matchLabels": {"podgate.io/hold": "true"}}
    assert operations(holds) == {"pods": ["UPDATE", "DELETE"]}  # no pod-spec webhook sends UPDATEs
    assert operations(found["sessions.incident.podgate.io"])["pods/eviction"] == ["CREATE"]


def test_the_shipped_set_judges_held_updates_once() -> None:
    """UPDATEs of held objects reach the pod-spec webhook (which judges access beside the spec): the
    holds webhook adds only DELETEs, so no request is judged, nor its session recorded, twice."""
    found = hooks(load_policies(ROOT / "policies"))
    validate = operations(found["validate.podgate.io"])
    held = operations(found["holds.incident.podgate.io"])
    assert all(op not in validate.get(resource, []) for resource, ops in held.items() for op in ops)
    sessions = operations(found["sessions.incident.podgate.io"])
    assert "pods/ephemeralcontainers" in validate and "pods/ephemeralcontainers" not in sessions


def test_an_access_check_the_generator_does_not_know_is_an_error() -> None:
    policies = access_policy("hold", "forensic-hold", ["DELETE"], {})
    (policy,) = policies
    renamed = dataclasses.replace(
        policy, access_rules=tuple(AccessRule(r.name, "new-check", r.run) for r in policy.access_rules)
    )
    with pytest.raises(GenerationError, match=r"hold.yaml#0: access check 'new-check' is unknown"):
        webhook_configurations(PolicySet((renamed,)))
