"""`podgate webhook-config`: rules derived from the policy set, the generated files, and drift detection."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from _deploy import ROOT, kustomize, one, tree_with_certs

from webhook.cli import main
from webhook.deploy.webhook_config import (
    GenerationError,
    configmap_key,
    dry_run_text,
    webhook_configurations,
    webhook_rules,
)
from webhook.policy import PolicySet, load_policy_text
from webhook.policy.model import Mutation
from webhook.policy.registry import Mutator


def policy(name: str, *, kinds: list[str] | None = None, operations: list[str] | None = None) -> str:
    match = {}
    if kinds:
        match["kinds"] = kinds
    if operations:
        match["operations"] = operations
    return yaml.safe_dump(
        {
            "apiVersion": "podgate.io/v1alpha1",
            "kind": "Policy",
            "metadata": {"name": name},
            "spec": {"description": "d", "remediation": "r", "match": match, "rules": [{"check": "no-root"}]},
        }
    )


def policies(*texts: str) -> PolicySet:
    return load_policy_text("---\n".join(texts), "test.yaml")


def test_the_committed_manifests_match_the_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "webhook-config",
            "--check",
            "--policies",
            str(ROOT / "policies"),
            "--manifests",
            str(ROOT / "manifests"),
        ]
    )
    assert code == 0, capsys.readouterr().out + "\nrun `podgate webhook-config` and commit the result"


def test_only_what_the_policies_judge_is_sent() -> None:
    rules = webhook_rules(policies(policy("pods-on-create", kinds=["Pod"], operations=["CREATE"])))
    assert rules == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]


def test_pod_updates_bring_the_ephemeral_containers_subresource() -> None:
    rules = webhook_rules(
        policies(
            policy("a", kinds=["Pod", "CronJob"], operations=["CREATE", "UPDATE"]),
            policy("b", kinds=["Deployment"], operations=["CREATE"]),
            policy("c", kinds=["Deployment"], operations=["UPDATE"]),
        )
    )
    assert [(r["apiGroups"][0], r["operations"], r["resources"]) for r in rules] == [
        ("", ["CREATE", "UPDATE"], ["pods"]),
        ("", ["UPDATE"], ["pods/ephemeralcontainers"]),
        ("apps", ["CREATE", "UPDATE"], ["deployments"]),
        ("batch", ["CREATE", "UPDATE"], ["cronjobs"]),
    ]


def test_a_mutating_configuration_exists_only_when_a_policy_mutates() -> None:
    plain = policies(policy("judge", kinds=["Pod", "Job"]), policy("other", kinds=["Deployment"]))
    assert [c["kind"] for c in webhook_configurations(plain)] == ["ValidatingWebhookConfiguration"]
    # A mutating policy, built directly, so the test holds whatever the shipped mutators do.
    mutating = dataclasses.replace(
        plain.policies[0],
        mutations=(Mutation("label", "label", Mutator(apply=lambda pod: None, targets=frozenset())),),
    )
    configs = webhook_configurations(PolicySet((mutating, plain.policies[1])), failure_policy="Fail")
    assert [c["kind"] for c in configs] == ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]
    (hook,) = configs[1]["webhooks"]
    assert hook["reinvocationPolicy"] == "IfNeeded"
    assert hook["clientConfig"]["service"]["path"] == "/mutate"
    assert {r for rule in hook["rules"] for r in rule["resources"]} == {
        "pods",
        "pods/ephemeralcontainers",
        "jobs",
    }
    assert "deployments" in {r for rule in configs[0]["webhooks"][0]["rules"] for r in rule["resources"]}
    for config in configs:
        kubernetes_validate.validate(config, "1.37.0", strict=True)


def test_the_dry_run_rewrite_never_denies() -> None:
    text = dry_run_text(
        policy("p")
        + "---\n"
        + yaml.safe_dump(
            {
                "apiVersion": "podgate.io/v1alpha1",
                "kind": "Policy",
                "metadata": {"name": "q"},
                "spec": {
                    "description": "d",
                    "remediation": "r",
                    "actions": ["Audit"],
                    "rules": [{"check": "no-root"}],
                },
            }
        ),
        "x.yaml",
    )
    loaded = load_policy_text(text, "x.yaml")
    assert [(p.name, p.actions, p.failure_policy) for p in loaded] == [
        ("p", ("Warn", "Audit"), "Ignore"),
        ("q", ("Audit",), "Ignore"),
    ]


def test_configmap_keys() -> None:
    assert configmap_key(Path("pod-security/restricted.yaml")) == "pod-security__restricted.yaml"
    with pytest.raises(GenerationError, match="cannot be a ConfigMap key"):
        configmap_key(Path("has space.yaml"))


def test_drift_is_detected_and_regenerated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tree_with_certs(tmp_path)
    shutil.copytree(ROOT / "policies", tree / "policies")
    (tree / "policies" / "team").mkdir()
    (tree / "policies" / "team" / "pods-only.yaml").write_text(policy("pods-only", kinds=["Pod"]))
    args = ["webhook-config", "--policies", str(tree / "policies"), "--manifests", str(tree / "manifests")]
    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "+  team__pods-only.yaml: |" in out
    assert out.strip().endswith(
        "2 generated file(s) out of date: run `podgate webhook-config` and commit them"
    )
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    rendered = kustomize(tree / "manifests" / "overlays" / "enforce")
    assert "team__pods-only.yaml" in one(rendered, "ConfigMap")["data"]


def test_a_broken_policy_set_generates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bad.yaml").write_text(policy("bad").replace("no-root", "no-such-check"))
    (tmp_path / "manifests" / "base").mkdir(parents=True)
    code = main(
        [
            "webhook-config",
            "--policies",
            str(tmp_path / "policies"),
            "--manifests",
            str(tmp_path / "manifests"),
        ]
    )
    assert code == 2
    assert "unknown check 'no-such-check'" in capsys.readouterr().err
    assert list((tmp_path / "manifests" / "base").iterdir()) == []


def test_stdout_prints_the_configurations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["webhook-config", "--stdout", "--policies", str(ROOT / "policies")]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [d["kind"] for d in documents] == [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]
