"""The engine's decisions: matching, actions, UPDATE semantics, errors, malformed input."""

from __future__ import annotations

from typing import Any

from conftest import pod, shared_review

from webhook.inputs import review_request
from webhook.policy import Request, UserInfo, evaluate, load_policy_text
from webhook.policy.engine import INPUT_POLICY


def policy(extra: str = "", name: str = "no-root", actions: str = "[Deny]") -> str:
    return f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: {name}}}
spec:
  description: Containers must not run as root.
  remediation: Set runAsNonRoot to true.
  actions: {actions}
  rules: [{{check: no-root}}]
{extra}"""


ROOT_POD = pod()
NON_ROOT_POD = pod(securityContext={"runAsNonRoot": True})


def decide(obj: dict[str, Any], text: str = policy(), **request: Any) -> Any:
    return evaluate(load_policy_text(text), Request(object=obj, **request))


def test_deny_names_container_path_fix_and_policy() -> None:
    decision = decide(ROOT_POD)
    assert not decision.allowed
    (v,) = decision.violations
    assert v.path == "spec.securityContext.runAsNonRoot"
    assert v.message == (
        'container "app" (spec.containers[0]) must run as a non-root user: set securityContext.runAsNonRoot '
        "to true on the pod or the container [policy no-root]"
    )
    assert decision.outcomes == {"no-root": "fail"}
    assert decide(NON_ROOT_POD).allowed


def test_warn_and_audit_never_deny() -> None:
    decision = decide(ROOT_POD, policy(actions="[Warn, Audit]"))
    assert decision.allowed
    assert decision.warnings == (decision.violations[0].message,)
    assert decision.audit_annotations == {"no-root": decision.violations[0].message}


def test_match_conditions_are_anded() -> None:
    text = policy("  match: {namespaces: [prod-*], excludedNamespaces: [prod-sandbox]}\n")
    assert not decide(ROOT_POD, text, namespace="prod-eu").allowed
    assert decide(ROOT_POD, text, namespace="prod-sandbox").allowed
    assert decide(ROOT_POD, text, namespace="dev").allowed


def test_object_and_namespace_selectors() -> None:
    text = policy(
        "  match:\n    objectSelector: {matchLabels: {app: app}}\n"
        "    namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}\n"
    )
    assert not decide(ROOT_POD, text, namespace_labels={"env": "prod"}).allowed
    assert decide(ROOT_POD, text, namespace_labels={"env": "dev"}).allowed
    unknown = decide(ROOT_POD, text)  # labels not available: failurePolicy Fail judges anyway
    assert not unknown.allowed
    assert "namespace labels" in unknown.notes[0]
    ignore = decide(ROOT_POD, text.replace("  actions:", "  failurePolicy: Ignore\n  actions:"))
    assert ignore.allowed
    assert "skipped (failurePolicy Ignore)" in ignore.notes[0]


def test_user_group_and_service_account_exemptions() -> None:
    text = policy(
        "  exemptions:\n    users: [alice]\n    groups: [breakglass]\n    serviceAccounts: ['kube-system:*']\n"
    )
    assert decide(ROOT_POD, text, user=UserInfo("alice")).allowed
    assert decide(ROOT_POD, text, user=UserInfo("bob", ("breakglass",))).allowed
    assert decide(ROOT_POD, text, user=UserInfo("system:serviceaccount:kube-system:x")).allowed
    assert not decide(ROOT_POD, text, user=UserInfo("system:serviceaccount:default:x")).allowed


def test_image_exemptions_use_the_normalised_reference() -> None:
    text = policy("  exemptions:\n    images: ['docker.io/library/nginx:*']\n")
    nginx = pod(containers=[{"name": "web", "image": "nginx:1.27"}])
    lookalike = pod(containers=[{"name": "web", "image": "nginx.evil.io/nginx:1.27"}])
    assert decide(nginx, text).allowed
    assert not decide(lookalike, text).allowed


def test_update_judges_only_what_it_introduces_unless_strict() -> None:
    old = ROOT_POD
    new = pod(containers=[{"name": "app", "image": "x:2"}])
    assert decide(new, operation="UPDATE", old_object=old).allowed
    assert not decide(new, policy("  strictUpdates: true\n"), operation="UPDATE", old_object=old).allowed
    worse = pod(
        securityContext={"runAsNonRoot": True},
        containers=[{"name": "app", "image": "x", "securityContext": {"runAsUser": 0}}],
    )
    assert not decide(worse, operation="UPDATE", old_object=NON_ROOT_POD).allowed


def test_kubectl_debug_is_judged_in_full() -> None:
    request = review_request(shared_review("pod-update-ephemeralcontainers-kubectl-debug.json"))
    decision = evaluate(load_policy_text(policy()), request)
    assert not decision.allowed
    assert any(
        v.path.startswith("spec.ephemeralContainers[0]") or "ephemeral" in v.message
        for v in decision.violations
    )


def test_what_is_not_judged_is_allowed_with_a_reason() -> None:
    for name, note in [
        ("pod-delete.json", "operation DELETE"),
        ("configmap-create-not-a-pod.json", "no pod spec"),
    ]:
        decision = evaluate(load_policy_text(policy()), review_request(shared_review(name)))
        assert decision.allowed and note in decision.notes[0]
    status = evaluate(
        load_policy_text(policy()), Request(object=ROOT_POD, operation="UPDATE", subresource="status")
    )
    assert status.allowed


def test_malformed_pod_spec_is_denied_never_allowed() -> None:
    bad = pod(securityContext={"runAsNonRoot": "true"})
    decision = decide(bad)
    assert not decision.allowed
    (v,) = decision.violations
    assert v.policy == INPUT_POLICY
    assert v.path == "spec.securityContext.runAsNonRoot"
    assert "must be a boolean, not a string" in v.message
    assert decision.outcomes == {"no-root": "error"}
    # Warn-only policies warn about it instead of denying.
    assert decide(bad, policy(actions="[Warn]")).allowed


def test_a_failing_check_fails_closed_or_open_per_policy(monkeypatch: Any) -> None:
    import dataclasses

    from webhook.policy.registry import CHECKS

    def broken(params: Any) -> Any:
        def run(pod: Any) -> Any:
            raise RuntimeError("boom")

        return run

    monkeypatch.setitem(CHECKS, "no-root", dataclasses.replace(CHECKS["no-root"], build=broken))
    closed = decide(ROOT_POD)
    assert (
        not closed.allowed and "could not evaluate rule no-root: RuntimeError: boom" in closed.deny_message()
    )
    assert closed.outcomes == {"no-root": "error"}
    opened = decide(ROOT_POD, policy().replace("  actions:", "  failurePolicy: Ignore\n  actions:"))
    assert opened.allowed and "ignored" in opened.notes[0]
