"""exec-control on CONNECT reviews exactly as the API server sends them, and the session record."""

from __future__ import annotations

import copy
import json

import pytest
from incident_fixtures import incident_review, request_of, shipped, with_user

from webhook.policy import PolicyLoadError, evaluate, load_policy_text
from webhook.policy.sessions import session_record

POLICY = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: exec-control}
spec:
  description: Only granted identities may open sessions.
  remediation: Ask for a grant.
  actions: [Deny]
  match: {operations: [CONNECT, UPDATE], kinds: [Pod]}
  rules:
    - check: exec-control
      params:
        contact: "#platform-oncall"
        grants:
          - namespaces: [shop]
            groups: [shop-sre]
          - namespaces: ["*"]
            sessions: [exec]
            serviceAccounts: ["ci:smoke-*"]
          - namespaces: ["*"]
            namespaceSelector: {matchLabels: {exec: open}}
            groups: [dev]
"""
SRE = {"username": "sam@example.com", "groups": ["shop-sre", "system:authenticated"]}


def judge(name: str, user: dict | None = None, **changes: object):
    review = incident_review(name)
    if user is not None:
        review = with_user(review, user)
    request = request_of(review, {"name": "web", "namespace": "shop"})
    if changes:
        import dataclasses

        request = dataclasses.replace(request, **changes)
    return request, evaluate(load_policy_text(POLICY), request)


def test_exec_by_an_ungranted_user_is_denied_with_who_what_and_whom_to_ask() -> None:
    _, decision = judge("pod-connect-exec.json", namespace_labels={"exec": "closed"})
    assert not decision.allowed
    (v,) = decision.violations
    assert v.message == (
        "alice@example.com (groups: dev, system:authenticated) may not exec into pod shop/web "
        "(container web; command sh): exec sessions in namespace shop are open to group shop-sre, "
        "service account ci:smoke-*; ask #platform-oncall for access [policy exec-control]"
    )
    assert decision.outcomes == {"exec-control": "fail"}


@pytest.mark.parametrize(
    "fixture",
    [
        "pod-connect-exec.json",
        "pod-connect-attach.json",
        "pod-connect-portforward.json",
        "pod-connect-exec-command.json",
    ],
)
def test_a_granted_group_may_open_every_session_in_its_namespace(fixture: str) -> None:
    _, decision = judge(fixture, SRE)
    assert decision.allowed and decision.outcomes == {"exec-control": "pass"}
    _, elsewhere = judge(fixture, SRE, namespace="payments")
    assert not elsewhere.allowed


def test_service_account_grant_is_limited_to_its_session_kinds() -> None:
    _, decision = judge("pod-connect-exec-serviceaccount.json")
    assert decision.allowed
    review = incident_review("pod-connect-exec-serviceaccount.json")
    attach = incident_review("pod-connect-attach.json")
    attach["request"]["userInfo"] = review["request"]["userInfo"]
    denied = evaluate(load_policy_text(POLICY), request_of(attach, {}))
    assert not denied.allowed
    assert "system:serviceaccount:ci:smoke-test" in denied.violations[0].message


def test_namespace_label_grants_need_the_labels() -> None:
    _, open_ns = judge("pod-connect-exec.json", namespace_labels={"exec": "open"})
    assert open_ns.allowed
    _, closed = judge("pod-connect-exec.json", namespace_labels={"exec": "closed"})
    assert not closed.allowed
    _, unknown = judge("pod-connect-exec.json")  # labels not known: the label grant cannot apply
    assert not unknown.allowed
    assert "namespace's labels were not available" in unknown.violations[0].message


def test_kubectl_debug_is_a_session_too() -> None:
    from conftest import shared_review

    review = shared_review("pod-update-ephemeralcontainers-kubectl-debug.json")
    review["request"]["namespace"] = "payments"
    decision = evaluate(load_policy_text(POLICY), request_of(review))
    assert not decision.allowed
    (v,) = decision.violations
    assert "may not debug pod payments/web (container debugger" in v.message
    review["request"]["userInfo"] = SRE
    review["request"]["namespace"] = "shop"
    assert evaluate(load_policy_text(POLICY), request_of(review)).allowed


def test_other_updates_and_deletes_are_not_sessions() -> None:
    from conftest import shared_review

    for name in ("deployment-update-image.json", "pod-delete.json"):
        decision = evaluate(load_policy_text(POLICY), request_of(shared_review(name)))
        assert decision.allowed, name
        assert "exec-control" not in {v.policy for v in decision.violations}


def test_the_shipped_policy_warns_and_audits_but_never_denies() -> None:
    policies = shipped("exec-control")
    decision = evaluate(policies, request_of(incident_review("pod-connect-exec.json"), {}))
    assert decision.allowed
    assert decision.warnings and "may not exec into pod shop/web" in decision.warnings[0]
    assert set(decision.audit_annotations) == {"exec-control"}
    admin = with_user(
        incident_review("pod-connect-exec.json"), {"username": "root", "groups": ["system:masters"]}
    )
    assert evaluate(policies, request_of(admin, {})).outcomes == {"exec-control": "pass"}


def test_session_record_names_user_pod_container_command_and_verdict() -> None:
    request, decision = judge("pod-connect-exec.json")
    record = session_record(request, decision, uid="3f1b6c2e-6a0d-4a5e-9a43-0c2b8f9d1e01")
    assert record is not None
    assert json.loads(json.dumps(record)) == record  # plain JSON, ready for the decision log
    assert record == {
        "event": "pod-session",
        "uid": "3f1b6c2e-6a0d-4a5e-9a43-0c2b8f9d1e01",
        "action": "exec",
        "allowed": False,
        "dryRun": False,
        "user": "alice@example.com",
        "groups": ["dev", "system:authenticated"],
        "namespace": "shop",
        "pod": "web",
        "container": "web",
        "command": ["sh"],
        "stdin": True,
        "tty": True,
        "denials": [decision.violations[0].message],
        "warnings": [],
        "policies": {"exec-control": "fail"},
        "notes": [],
    }


def test_session_records_for_port_forward_debug_and_no_policy_at_all() -> None:
    request, decision = judge("pod-connect-portforward-ports.json", SRE)
    record = session_record(request, decision)
    assert record is not None and record["ports"] == [80, 443] and record["allowed"] is True
    request, decision = judge("pod-connect-portforward.json", SRE)
    assert session_record(request, decision)["ports"] == []  # type: ignore[index]

    from conftest import POLICIES, shared_review

    from webhook.policy import load_policies

    debug = request_of(shared_review("pod-update-ephemeralcontainers-kubectl-debug.json"))
    no_session_policy = load_policies(POLICIES / "no-root.yaml")
    record = session_record(debug, evaluate(no_session_policy, debug))
    assert record is not None
    assert (record["action"], record["pod"], record["container"]) == ("debug", "web", "debugger-8hx2q")
    assert record["images"] == ["busybox:1.36"]
    assert (
        session_record(request_of(shared_review("pod-delete.json")), evaluate(no_session_policy, debug))
        is None
    )


def test_unmatched_connect_is_allowed_with_a_reason() -> None:
    from conftest import POLICIES

    from webhook.policy import load_policies

    decision = evaluate(
        load_policies(POLICIES / "no-root.yaml"), request_of(incident_review("pod-connect-exec.json"))
    )
    assert decision.allowed
    assert decision.notes == ("operation CONNECT on 'exec' is not judged by any policy",)


def test_bad_grants_fail_at_load_with_their_path() -> None:
    nobody = POLICY.replace("groups: [shop-sre]", "sessions: [exec]")
    with pytest.raises(PolicyLoadError) as err:
        load_policy_text(nobody)
    assert (
        "spec.rules[0].params.grants[0]: a grant names at least one of users, groups, serviceAccounts"
        in str(err.value)
    )
    with pytest.raises(PolicyLoadError, match=r"grants\[0\]\.sessions\[0\]: Input should be 'exec'"):
        load_policy_text(POLICY.replace("groups: [shop-sre]", "groups: [x]\n            sessions: [shell]"))
    mixed = POLICY.replace("  rules:\n", "  rules:\n    - check: no-root\n")
    with pytest.raises(PolicyLoadError, match="cannot share a policy"):
        load_policy_text(mixed)
    pod_check_on_connect = POLICY.replace("check: exec-control", "check: no-root").split("      params:")[0]
    with pytest.raises(PolicyLoadError, match="pod checks judge CREATE and UPDATE only, not CONNECT"):
        load_policy_text(pod_check_on_connect)


def test_a_grant_list_is_not_shared_between_loads() -> None:
    a = load_policy_text(POLICY)
    b = load_policy_text(copy.deepcopy(POLICY).replace("shop-sre", "other"))
    _, decision = judge("pod-connect-exec.json", SRE)
    assert decision.allowed
    request = request_of(with_user(incident_review("pod-connect-exec.json"), SRE), {})
    assert evaluate(a, request).allowed and not evaluate(b, request).allowed


def test_object_selectors_on_connect_see_only_what_the_held_pod_cache_knows() -> None:
    text = POLICY.replace(
        "kinds: [Pod]}", "kinds: [Pod], objectSelector: {matchLabels: {podgate.io/hold: 'true'}}}"
    )
    text = text.replace("  actions: [Deny]", "  actions: [Deny]\n  failurePolicy: Ignore")
    policies = load_policy_text(text)
    review = incident_review("pod-connect-exec.json")
    from incident_fixtures import held_metadata

    held = evaluate(policies, request_of(review, held_metadata()))
    assert not held.allowed  # labels known (a held pod): the selector matches, the policy judges
    not_held = evaluate(policies, request_of(review, {"name": "web", "namespace": "shop"}))
    assert not_held.allowed and not not_held.outcomes
    assert "the labels of pod shop/web are not available; skipped (failurePolicy Ignore)" in not_held.notes[0]
    fail_closed = load_policy_text(text.replace("failurePolicy: Ignore", "failurePolicy: Fail"))
    assert not evaluate(fail_closed, request_of(review, {"name": "web", "namespace": "shop"})).allowed
