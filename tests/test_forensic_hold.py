"""forensic-hold across DELETE, UPDATE, eviction, debug and CONNECT, with the shipped policy."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from conftest import POLICIES as POLICIES_DIR
from conftest import shared_review
from incident_fixtures import (
    HOLD,
    RESPONDER,
    SIGNATURE,
    held_delete,
    held_metadata,
    incident_review,
    request_of,
    shipped,
    with_user,
)

from webhook.policy import evaluate
from webhook.policy.sessions import session_record

POLICIES = shipped("forensic-hold", "no-root")
RELEASE = "podgate release pod/web -n shop"


def test_deleting_a_held_pod_is_denied_naming_who_why_and_how_to_lift() -> None:
    decision = evaluate(POLICIES, request_of(held_delete()))
    assert not decision.allowed
    (v,) = decision.violations
    assert v.policy == "forensic-hold" and v.path == "metadata.labels.podgate.io/hold"
    assert v.message == (
        "pod default/web is under forensic hold, placed by rhea@example.com at 2026-12-02T03:12:00Z "
        "(INC-4711: crypto-miner beaconing to 203.0.113.9); kubernetes-admin may not delete it: only group "
        "incident-response may act on it until the hold is lifted; to lift it, a responder runs "
        "`podgate release pod/web -n default` [policy forensic-hold]"
    )
    assert "forensic hold" in decision.deny_message()


def test_responders_may_delete_and_unheld_pods_are_untouched() -> None:
    assert evaluate(POLICIES, request_of(held_delete(RESPONDER))).allowed
    plain = evaluate(POLICIES, request_of(shared_review("pod-delete.json")))
    assert plain.allowed and plain.outcomes == {"forensic-hold": "pass"}


def test_the_pod_garbage_collector_and_controllers_are_held_too() -> None:
    gc = {
        "username": "system:serviceaccount:kube-system:pod-garbage-collector",
        "groups": ["system:serviceaccounts"],
    }
    assert not evaluate(POLICIES, request_of(held_delete(gc))).allowed


def held_update(user: dict | None = None, change=None) -> dict:
    review = shared_review("deployment-update-image.json")
    for key in ("object", "oldObject"):
        review["request"][key]["metadata"].setdefault("labels", {}).update(HOLD)
        review["request"][key]["metadata"]["annotations"] = dict(SIGNATURE)
    if change:
        change(review["request"]["object"])
    return with_user(review, user) if user else review


def test_changing_a_held_workload_is_denied_but_not_for_responders() -> None:
    decision = evaluate(POLICIES, request_of(held_update()))
    assert not decision.allowed
    hold = [v for v in decision.violations if v.policy == "forensic-hold"]
    assert len(hold) == 1 and "deployment " in hold[0].message and "may not change it" in hold[0].message
    assert "podgate release deployment/" in hold[0].message
    responder = evaluate(POLICIES, request_of(held_update(RESPONDER)))
    assert "forensic-hold" not in {v.policy for v in responder.violations}
    assert responder.outcomes["forensic-hold"] == "pass"


def test_only_responders_place_or_lift_a_hold_and_they_sign_it() -> None:
    review = shared_review("deployment-update-image.json")
    place = copy.deepcopy(review)
    meta = place["request"]["object"]["metadata"]
    meta.setdefault("labels", {}).update(HOLD)
    meta["annotations"] = dict(SIGNATURE)
    decision = evaluate(POLICIES, request_of(place))
    assert [v.message.split(":")[0] for v in decision.denials if v.policy == "forensic-hold"] == [
        "only group incident-response may place a forensic hold on deployment shop/shop"
    ]
    signed = evaluate(POLICIES, request_of(with_user(place, RESPONDER)))
    assert signed.outcomes["forensic-hold"] == "pass"
    other = {"username": "oli@example.com", "groups": ["incident-response"]}
    forged = evaluate(POLICIES, request_of(with_user(place, other)))
    (v,) = [v for v in forged.denials if v.policy == "forensic-hold"]
    assert v.path == "metadata.annotations.podgate.io/held-by"
    assert "set annotation podgate.io/held-by to 'oli@example.com'" in v.message
    del meta["annotations"]["podgate.io/hold-reason"]
    unsigned = evaluate(POLICIES, request_of(with_user(place, RESPONDER)))
    assert any("needs a reason" in v.message for v in unsigned.denials)
    # Lifting: the old object is held, the new one not.
    lift = held_update(change=lambda obj: obj["metadata"]["labels"].pop("podgate.io/hold"))
    assert not evaluate(POLICIES, request_of(lift)).allowed
    assert evaluate(POLICIES, request_of(with_user(lift, RESPONDER))).outcomes["forensic-hold"] == "pass"


def test_kubectl_debug_on_a_held_pod_is_denied() -> None:
    review = shared_review("pod-update-ephemeralcontainers-kubectl-debug.json")
    for key in ("object", "oldObject"):
        review["request"][key]["metadata"]["labels"].update(HOLD)
    decision = evaluate(POLICIES, request_of(review))
    assert any(v.policy == "forensic-hold" and "may not debug it" in v.message for v in decision.denials)


def test_status_updates_from_the_kubelet_are_never_held() -> None:
    review = held_update()
    review["request"]["subResource"] = "status"
    decision = evaluate(POLICIES, request_of(review))
    assert "forensic-hold" not in decision.outcomes


@pytest.mark.parametrize(
    ("fixture", "verb"),
    [
        ("pod-connect-exec.json", "exec into"),
        ("pod-connect-attach.json", "attach to"),
        ("pod-connect-portforward.json", "port-forward to"),
        ("pod-create-eviction.json", "evict"),
    ],
)
def test_sessions_and_evictions_of_a_held_pod_use_the_held_pod_cache(fixture: str, verb: str) -> None:
    review = incident_review(fixture)
    denied = evaluate(POLICIES, request_of(review, held_metadata()))
    assert not denied.allowed
    assert f"may not {verb} it" in denied.violations[0].message and RELEASE in denied.violations[0].message
    assert evaluate(POLICIES, request_of(with_user(review, RESPONDER), held_metadata())).allowed
    assert evaluate(
        POLICIES, request_of(review, {"name": "web", "namespace": "shop"})
    ).allowed  # known, not held


def test_unknown_target_follows_failure_policy_and_never_blocks_responders() -> None:
    review = incident_review("pod-connect-exec.json")
    unknown = evaluate(POLICIES, request_of(review, None))
    assert not unknown.allowed and unknown.outcomes == {"forensic-hold": "error"}
    assert "held-pod cache has not synced" in unknown.violations[0].message
    assert "denied because its failurePolicy is Fail" in unknown.violations[0].message
    assert evaluate(POLICIES, request_of(with_user(review, RESPONDER), None)).allowed
    ignore = shipped("forensic-hold")
    policy = dataclasses.replace(ignore.policies[0], failure_policy="Ignore")
    relaxed = dataclasses.replace(ignore, policies=(policy,))
    allowed = evaluate(relaxed, request_of(review, None))
    assert allowed.allowed and "ignored because its failurePolicy is Ignore" in allowed.notes[0]
    # The session record says what happened either way.
    record = session_record(request_of(review, None), unknown)
    assert (
        record is not None and record["allowed"] is False and record["policies"] == {"forensic-hold": "error"}
    )


def test_exec_control_and_hold_together_on_exec() -> None:
    both = shipped("forensic-hold", "exec-control")
    admin = {"username": "root", "groups": ["system:masters"]}
    review = with_user(incident_review("pod-connect-exec.json"), admin)
    decision = evaluate(both, request_of(review, held_metadata()))
    assert not decision.allowed  # a grant to exec does not lift a hold
    assert decision.outcomes == {"exec-control": "pass", "forensic-hold": "fail"}


def test_access_policies_with_namespace_selectors_follow_failure_policy_when_labels_are_unknown() -> None:
    base = shipped("forensic-hold").policies[0]
    from webhook.policy import load_policy_text

    text = (
        (POLICIES_DIR / "forensic-hold.yaml")
        .read_text()
        .replace(
            "    operations: [UPDATE, DELETE, CONNECT]",
            "    operations: [UPDATE, DELETE, CONNECT]\n    namespaceSelector: {matchLabels: {incident: frozen}}",
        )
    )
    policies = load_policy_text(text)
    assert policies.policies[0].name == base.name
    request = request_of(held_delete())
    unknown = evaluate(policies, request)
    assert not unknown.allowed and "namespace labels of 'default' are not available" in unknown.notes[0]
    assert evaluate(policies, dataclasses.replace(request, namespace_labels={"incident": "frozen"})).outcomes
    assert evaluate(policies, dataclasses.replace(request, namespace_labels={})).allowed
    ignore = load_policy_text(text.replace("failurePolicy: Fail", "failurePolicy: Ignore"))
    skipped = evaluate(ignore, request)
    assert skipped.allowed and "skipped (failurePolicy Ignore)" in skipped.notes[0]
