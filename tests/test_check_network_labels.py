"""network-labels, table-driven: presence, allowed values, patterns, templates' labels, bad params."""

from __future__ import annotations

from typing import Any

import pytest
from check_helpers import KINDS, found, judge, policy_text, wrap

from webhook.policy import PolicyLoadError, load_policy_text

SPEC = {"containers": [{"name": "app", "image": "registry.example.com/acme/app:1.0"}]}
ZONE = {"key": "zone", "values": ["internal", "public"]}
TEAM = {"key": "example.com/team", "pattern": "[a-z]+(-[a-z]+)*"}
APP = {"key": "app"}

# (case id, required labels, pod labels (None: no labels map), expected [(path below the pod, value)])
CASES: list[tuple[str, list[dict[str, Any]], dict[str, str] | None, list[tuple[str, Any]]]] = [
    ("all-present", [ZONE, TEAM, APP], {"zone": "public", "example.com/team": "web-shop", "app": "x"}, []),
    ("no-labels-map", [ZONE, APP], None, [("metadata.labels.zone", None), ("metadata.labels.app", None)]),
    ("missing-one", [ZONE, APP], {"app": "x"}, [("metadata.labels.zone", None)]),
    ("value-not-allowed", [ZONE], {"zone": "dmz"}, [("metadata.labels.zone", "dmz")]),
    ("values-are-case-sensitive", [ZONE], {"zone": "Public"}, [("metadata.labels.zone", "Public")]),
    ("empty-value-not-in-values", [ZONE], {"zone": ""}, [("metadata.labels.zone", "")]),
    ("any-value-when-no-values", [APP], {"app": ""}, []),
    (
        "pattern-matches-whole-value",
        [TEAM],
        {"example.com/team": "web-shop-"},
        [('metadata.labels["example.com/team"]', "web-shop-")],
    ),
    ("pattern-ok", [TEAM], {"example.com/team": "payments"}, []),
    (
        "similar-key-does-not-count",
        [APP],
        {"App": "x", "app.kubernetes.io/name": "x"},
        [("metadata.labels.app", None)],
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("labels", "pod_labels", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_network_labels(
    kind: str,
    labels: list[dict[str, Any]],
    pod_labels: dict[str, str] | None,
    expected: list[tuple[str, Any]],
) -> None:
    decision = judge("network-labels", {"labels": labels}, wrap(kind, SPEC, pod_labels))
    assert found(decision, KINDS[kind]) == expected


def test_workload_labels_do_not_count_only_the_template_ones() -> None:
    deployment = wrap("Deployment", SPEC, {"app": "x"})
    deployment["metadata"]["labels"] = {"zone": "internal"}
    (v,) = judge("network-labels", {"labels": [ZONE]}, deployment).violations
    assert v.path == "spec.template.metadata.labels.zone"
    assert v.message == (
        "the pod template (spec.template.metadata) must carry the label zone: add the label zone with one of: "
        "internal, public [policy under-test]"
    )


def test_wrong_value_message() -> None:
    (v,) = judge(
        "network-labels", {"labels": [TEAM]}, wrap("Pod", SPEC, {"example.com/team": "Web"})
    ).violations
    assert v.message == (
        "the pod has label example.com/team=Web, which is not allowed: set it to a value matching "
        "/[a-z]+(-[a-z]+)*/ [policy under-test]"
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "params.labels: required field is missing"),
        ({"labels": []}, "params.labels: List should have at least 1 item"),
        ({"labels": [{"key": "bad key"}]}, "label key 'bad key'"),
        ({"labels": [{"key": "Example.com/x"}]}, "the prefix must be a DNS subdomain"),
        ({"labels": [{"key": "x" * 64}]}, "the name must be 1-63 characters"),
        ({"labels": [{"key": "zone", "values": ["-bad"]}]}, "label value '-bad'"),
        ({"labels": [{"key": "zone", "pattern": "("}]}, "is not a valid regular expression"),
        ({"labels": [{"key": "zone", "pattern": "a", "values": ["a"]}]}, "either `values` or `pattern`"),
        ({"labels": [APP, APP]}, "label 'app' is listed twice"),
        ({"labels": [{"key": "zone", "value": "a"}]}, "params.labels[0].value: unknown field"),
    ],
)
def test_bad_params_fail_at_load(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(policy_text("network-labels", params))
    assert problem in str(caught.value)


def test_user_and_service_account_exemptions() -> None:
    from webhook.policy import UserInfo

    exemptions = {"users": ["ops-admin"], "serviceAccounts": ["ci:deployer"]}
    pod = wrap("Pod", SPEC, {})
    assert not judge("network-labels", {"labels": [ZONE]}, pod, exemptions=exemptions).allowed
    assert judge(
        "network-labels", {"labels": [ZONE]}, pod, exemptions=exemptions, user=UserInfo("ops-admin")
    ).allowed
    deployer = UserInfo("system:serviceaccount:ci:deployer")
    assert judge("network-labels", {"labels": [ZONE]}, pod, exemptions=exemptions, user=deployer).allowed
    other = UserInfo("system:serviceaccount:ci:other")
    assert not judge("network-labels", {"labels": [ZONE]}, pod, exemptions=exemptions, user=other).allowed
