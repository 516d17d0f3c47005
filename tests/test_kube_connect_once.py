"""Each configuration is tried once: `in_cluster_fallback=False` stops `api_client` after the kubeconfig,
so the webhook's in-cluster-first order (`namespaces.api_client`) reads the service account once,
checked against the loopback API server with temp kubeconfigs and a fake service-account directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import test_kube_connect
from kube_loopback import KubeLoopback
from test_kube_connect import pod_environment, reaches

from webhook import kube_connect
from webhook.kube_connect import Connection, KubeConfigError, api_client
from webhook.namespaces import api_client as webhook_client

kube, in_cluster_kube = test_kube_connect.kube, test_kube_connect.in_cluster_kube


@pytest.fixture
def in_cluster_tries(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The service-account directory of every in-cluster attempt."""
    tries: list[Path] = []
    real = kube_connect._in_cluster

    def spy(service_account_dir: Path, environ: Any) -> Connection:
        tries.append(service_account_dir)
        return real(service_account_dir, environ)

    monkeypatch.setattr(kube_connect, "_in_cluster", spy)
    return tries


def test_without_the_fall_back_no_kubeconfig_is_an_error_even_in_a_pod(
    in_cluster_kube: tuple[KubeLoopback, Path], tmp_path: Path, in_cluster_tries: list[Path]
) -> None:
    loop, account = in_cluster_kube
    environ = pod_environment(loop, tmp_path)  # a working service account, no kubeconfig
    with pytest.raises(KubeConfigError) as info:
        api_client(in_cluster_fallback=False, environ=environ, service_account_dir=account)
    assert str(info.value) == f"no kubeconfig ({tmp_path}/.kube/config: no such file)"
    with pytest.raises(KubeConfigError) as info:
        api_client(
            in_cluster_fallback=False,
            environ={**environ, "KUBECONFIG": "/nowhere/a"},
            service_account_dir=account,
        )
    assert str(info.value) == "no kubeconfig ($KUBECONFIG (/nowhere/a): no such file)"
    assert in_cluster_tries == []
    assert api_client(environ=environ, service_account_dir=account).namespace == "incident"  # the default
    assert in_cluster_tries == [account]


def test_without_the_fall_back_a_kubeconfig_is_used_as_before(
    kube: KubeLoopback,
    in_cluster_kube: tuple[KubeLoopback, Path],
    tmp_path: Path,
    in_cluster_tries: list[Path],
) -> None:
    loop, account = in_cluster_kube
    environ = {**pod_environment(loop, tmp_path), "KUBECONFIG": str(kube.kubeconfig(tmp_path))}
    connection = api_client(in_cluster_fallback=False, environ=environ, service_account_dir=account)
    assert reaches(connection, kube) == "Bearer loopback-token"
    assert in_cluster_tries == [] and not loop.calls


def test_the_webhook_tries_its_service_account_once(
    kube: KubeLoopback,
    in_cluster_kube: tuple[KubeLoopback, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_cluster_tries: list[Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop, account = in_cluster_kube
    monkeypatch.setattr(kube_connect, "SERVICE_ACCOUNT_DIR", account)
    for key, value in pod_environment(loop, tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig(tmp_path)))
    assert reaches(Connection(webhook_client(), ""), loop) == "bearer service-account-token"  # in its pod
    assert len(in_cluster_tries) == 1
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")  # run by hand: the operator's kubeconfig
    assert reaches(Connection(webhook_client(), ""), kube) == "Bearer loopback-token"
    assert len(in_cluster_tries) == 2
    monkeypatch.delenv("KUBECONFIG")
    with caplog.at_level(logging.INFO, logger="podgate.namespaces"):
        assert webhook_client() is None
    assert len(in_cluster_tries) == 3
    # Both reasons are still said, once each.
    assert caplog.messages == [
        f"no cluster configuration: no kubeconfig ({tmp_path}/.kube/config: no such file) and "
        f"no in-cluster service account ({account}): Service host/port is not set."
    ]
