"""The live-cluster source against a loopback server speaking the API's list and Status JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import NO_ROOT, bad_pod, good_pod, owned_by, templated
from fake_apiserver import FakeAPI, serve
from kube_loopback import write_kubeconfig

from webhook.audit.cluster import ClusterError, ClusterSource
from webhook.audit.run import audit
from webhook.cli import main
from webhook.policy import load_policies


def _item(obj: dict[str, Any]) -> dict[str, Any]:
    """As the API server lists it: no kind or apiVersion on items."""
    item = copy.deepcopy(obj)
    item.pop("kind"), item.pop("apiVersion")
    item["status"] = {}
    return item


def _cluster() -> FakeAPI:
    deployment = templated("Deployment", "web", bad_pod("t"))
    replicaset = owned_by(templated("ReplicaSet", "web-5d4", bad_pod("t")), deployment)
    pods = [owned_by(bad_pod(f"web-5d4-{i}"), replicaset) for i in range(5)]
    pods += [bad_pod("loner", "dev"), good_pod("fine", "dev")]
    return FakeAPI(
        objects={
            "namespaces": [
                {"metadata": {"name": "shop", "labels": {"env": "prod"}}},
                {"metadata": {"name": "dev", "labels": {}}},
            ],
            "pods": [_item(p) for p in pods],
            "deployments": [_item(deployment)],
            "replicasets": [_item(replicaset)],
        }
    )


def _connect(tmp_path: Path, server: str, **kw: Any) -> ClusterSource:
    source = ClusterSource.connect(
        kubeconfig=str(write_kubeconfig(tmp_path / "kubeconfig", server)), qps=1000, **kw
    )
    source.sleep = lambda seconds: None
    return source


def test_pages_every_pod_bearing_kind_and_folds_to_the_controller(tmp_path: Path) -> None:
    api = _cluster()
    with serve(api) as server:
        source = _connect(tmp_path, server, page_size=2)
        labels = source.namespace_labels()
        result = audit(source.objects(), load_policies(NO_ROOT), namespace_labels=labels)
    assert labels == {"shop": {"env": "prod"}, "dev": {}}
    assert sorted(r.ref for r in result.failing) == ["Deployment/shop/web", "Pod/dev/loner"]
    assert next(r for r in result.failing if r.kind == "Deployment").owned == 6
    paths = [p for p, _ in api.requests]
    for resource in (
        "pods",
        "podtemplates",
        "replicationcontrollers",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
    ):
        assert any(p.endswith(f"/{resource}") for p in paths), resource
    pod_pages = [q for p, q in api.requests if p == "/api/v1/pods"]
    assert [q.get("continue", "") for q in pod_pages] == ["", "pods:2", "pods:4", "pods:6"]
    assert all(q["limit"] == "2" for q in pod_pages)
    pods = next(r for r in source.evidence()["lists"] if r["resource"] == "pods")
    assert pods == {
        "resource": "pods",
        "resourceVersion": "48213",
        "pages": 4,
        "objects": 7,
        "expiredContinueTokens": 0,
        "inconsistent": False,
        "restarted": False,
    }


def test_expired_continue_token_goes_on_with_the_fresh_token(tmp_path: Path) -> None:
    api = _cluster()
    api.expire["pods:2"] = "pods:3"  # 410 Expired, with a token for the rest (from a newer snapshot)
    with serve(api) as server:
        source = _connect(tmp_path, server, page_size=2)
        names = [o.object["metadata"]["name"] for o in source.objects() if o.object["kind"] == "Pod"]
    assert names == ["web-5d4-0", "web-5d4-1", "web-5d4-3", "web-5d4-4", "loner", "fine"]
    pods = next(r for r in source.evidence()["lists"] if r["resource"] == "pods")
    assert pods["expiredContinueTokens"] == 1 and pods["inconsistent"] is True


def test_expired_token_without_a_fresh_one_restarts_and_skips_what_was_read(tmp_path: Path) -> None:
    api = _cluster()
    api.expire["pods:4"] = None
    with serve(api) as server:
        source = _connect(tmp_path, server, page_size=2)
        names = [o.object["metadata"]["name"] for o in source.objects() if o.object["kind"] == "Pod"]
    assert names == ["web-5d4-0", "web-5d4-1", "web-5d4-2", "web-5d4-3", "web-5d4-4", "loner", "fine"]
    pod_pages = [q.get("continue", "") for p, q in api.requests if p == "/api/v1/pods"]
    assert pod_pages == ["", "pods:2", "pods:4", "", "pods:2", "pods:4", "pods:6"]
    pods = next(r for r in source.evidence()["lists"] if r["resource"] == "pods")
    assert pods["restarted"] is True and pods["objects"] == 7


def test_one_namespace(tmp_path: Path) -> None:
    api = _cluster()
    with serve(api) as server:
        source = _connect(tmp_path, server, namespace="dev")
        labels = source.namespace_labels()
        names = [o.object["metadata"]["name"] for o in source.objects()]
    assert labels == {"dev": {}}
    assert names == ["loner", "fine"]
    assert ("/api/v1/namespaces/dev/pods", {"limit": "500"}) in api.requests


def test_requests_are_spaced_by_qps(tmp_path: Path) -> None:
    api = _cluster()
    waits: list[float] = []
    with serve(api) as server:
        source = ClusterSource.connect(
            kubeconfig=str(write_kubeconfig(tmp_path / "k", server)), qps=2, page_size=100
        )
        source.sleep = waits.append
        list(source.objects())
    assert len(waits) >= 8 and all(0 < w <= 0.5 for w in waits)  # 9 lists, at most 2 per second


def test_forbidden_list_names_the_resource_and_the_rbac(tmp_path: Path) -> None:
    api = _cluster()
    api.forbidden.add("cronjobs")
    with serve(api) as server, pytest.raises(ClusterError) as info:
        list(_connect(tmp_path, server).objects())
    message = str(info.value)
    assert message.startswith("listing cronjobs: HTTP 403 Forbidden: cronjobs is forbidden")
    assert "read-only RBAC" in message


def test_unreachable_and_bad_kubeconfig_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="cannot load the kubeconfig"):
        ClusterSource.connect(kubeconfig=str(tmp_path / "missing"))
    with serve(FakeAPI()) as server:
        pass  # the port is closed now
    source = _connect(tmp_path, server)
    source.api_client.configuration.retries = 0
    with pytest.raises(ClusterError, match=r"listing pods from http://127\.0\.0\.1"):
        list(source.objects())


def test_cli_cluster_audit_to_policyreport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = _cluster()
    with serve(api) as server:
        config = write_kubeconfig(tmp_path / "kubeconfig", server)
        code = main(
            [
                "audit",
                "--cluster",
                "--kubeconfig",
                str(config),
                "-p",
                str(NO_ROOT),
                "--qps",
                "1000",
                "-o",
                "json",
            ]
        )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["evidence"]["inputs"]["cluster"]["server"] == server
    assert sorted(r["ref"] for r in report["results"]) == ["Deployment/shop/web", "Pod/dev/loner"]
    with serve(api) as server:
        config = write_kubeconfig(tmp_path / "kubeconfig", server)
        api.forbidden.add("pods")
        assert main(["audit", "--cluster", "--kubeconfig", str(config), "--qps", "1000"]) == 2
    assert "listing pods: HTTP 403" in capsys.readouterr().err
