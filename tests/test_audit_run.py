"""The audit judges like the webhook, folds owned objects into their controller, and compares sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_helpers import NO_ROOT, bad_pod, good_pod, owned_by, templated, write_policy
from conftest import pod

from webhook.audit.run import audit, worst_offenders
from webhook.audit.stream import Located
from webhook.inputs import InputError
from webhook.policy import Request, evaluate, load_policies


def _located(*objects: dict) -> list[Located]:
    return [Located("dump.json", 0, i, None, obj) for i, obj in enumerate(objects)]


def test_same_verdict_as_the_webhook() -> None:
    policies = load_policies(NO_ROOT)
    objects = [bad_pod("a"), good_pod("b"), bad_pod("sys", namespace="kube-system")]
    result = audit(_located(*objects), policies)
    assert [r.name for r in result.failing] == ["a"]
    expected = evaluate(policies, Request(object=objects[0])).violations
    assert [f.message for f in result.failing[0].findings] == [v.message for v in expected]
    assert result.failing[0].source == "dump.json: document 0: items[0]"
    assert (result.objects_read, result.objects_judged) == (3, 3)


def test_pods_are_reported_at_their_controller_through_every_level() -> None:
    template = bad_pod("t")
    deployment = templated("Deployment", "web", template)
    replicaset = owned_by(templated("ReplicaSet", "web-5d4", template), deployment)
    pods = [owned_by(bad_pod(f"web-5d4-{i}"), replicaset) for i in range(3)]
    result = audit(_located(*pods, replicaset, deployment), load_policies(NO_ROOT))
    assert [r.ref for r in result.failing] == ["Deployment/shop/web"]
    assert result.failing[0].owned == 4  # the ReplicaSet and its three Pods
    assert result.objects_folded == 4


def test_owned_pod_whose_controller_was_not_seen_is_reported_itself() -> None:
    job = templated("Job", "backup", bad_pod("t"))
    orphan = owned_by(bad_pod("backup-x"), job)  # a dump of Pods only
    result = audit(_located(orphan), load_policies(NO_ROOT))
    assert [r.ref for r in result.failing] == ["Pod/shop/backup-x"]


def test_pod_failing_behind_a_passing_controller_is_not_hidden() -> None:
    deployment = templated("Deployment", "web", good_pod("t"))
    changed = owned_by(bad_pod("web-1"), deployment)  # differs from its template
    result = audit(_located(deployment, changed), load_policies(NO_ROOT))
    assert [r.ref for r in result.failing] == ["Pod/shop/web-1"]


def test_pod_owned_by_a_kind_the_audit_cannot_judge_is_reported_itself() -> None:
    operated = bad_pod("db-0")
    operated["metadata"]["ownerReferences"] = [
        {"kind": "Postgres", "name": "db", "uid": "u", "controller": True}
    ]
    result = audit(_located(operated), load_policies(NO_ROOT))
    assert [r.ref for r in result.failing] == ["Pod/shop/db-0"]


def test_other_kinds_are_counted_not_judged_and_objects_need_a_kind() -> None:
    result = audit(_located({"kind": "ConfigMap", "metadata": {"name": "c"}}), load_policies(NO_ROOT))
    assert result.skipped_kinds == {"ConfigMap": 1} and result.objects_judged == 0
    with pytest.raises(InputError, match=r"dump.json: document 0: items\[0\]: kind: missing"):
        audit(_located({"metadata": {"name": "x"}}), load_policies(NO_ROOT))
    with pytest.raises(InputError, match="metadata: expected a mapping, got list"):
        audit(_located({"kind": "Pod", "metadata": []}), load_policies(NO_ROOT))


def test_malformed_pod_spec_is_a_finding_naming_the_field() -> None:
    broken = pod(containers=[{"name": "app", "image": "x", "securityContext": {"runAsNonRoot": "yes"}}])
    result = audit(_located(broken), load_policies(NO_ROOT))
    (finding,) = result.failing[0].findings
    assert finding.policy == "podgate-input"
    assert "spec.containers[0].securityContext.runAsNonRoot" in finding.message


def test_namespace_labels_come_from_namespace_objects_seen_first(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "set", "prod-no-root")
    policy.write_text(
        policy.read_text().replace(
            "  match:\n", "  match:\n    namespaceSelector: {matchLabels: {env: prod}}\n"
        )
    )
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"env": "prod"}},
    }
    result = audit(_located(namespace, bad_pod("a"), bad_pod("b", namespace="dev")), load_policies(policy))
    assert [r.ref for r in result.failing] == ["Pod/shop/a", "Pod/dev/b"]  # dev: labels unknown, Fail judges
    assert any("namespace labels of 'dev' are not available" in n for n in result.notes)


def test_compare_lists_newly_failing_newly_passing_and_still_failing(tmp_path: Path) -> None:
    old = load_policies(write_policy(tmp_path / "old", "no-root", excluded="[kube-system, shop]"))
    new = load_policies(write_policy(tmp_path / "new", "no-root", excluded="[kube-system, legacy]"))
    objects = [bad_pod("a", "shop"), bad_pod("b", "legacy"), bad_pod("c", "web"), good_pod("d", "shop")]
    result = audit(_located(*objects), new, old_policies=old)
    assert [r.ref for r in result.newly_failing()] == ["Pod/shop/a"]
    assert [r.ref for r in result.newly_passing()] == ["Pod/legacy/b"]
    assert [r.ref for r in result.still_failing()] == ["Pod/web/c"]


def test_worst_offenders_rank_deny_before_warn_then_by_count(tmp_path: Path) -> None:
    warn = write_policy(tmp_path / "set", "warn-root", actions="[Warn]", excluded="[]")
    policies = load_policies(NO_ROOT, warn)
    two = bad_pod("two")
    two["spec"]["containers"].append({"name": "side", "image": "x"})
    result = audit(_located(bad_pod("one"), two, bad_pod("sys", namespace="kube-system")), policies)
    ranked = [r.name for r in worst_offenders(result.failing, 3)]
    assert ranked == ["two", "one", "sys"]  # kube-system is only warned (no-root excludes it)
