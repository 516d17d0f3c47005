"""One way to reach the API server (`webhook.kube_connect.api_client`), for hold/release, doctor, audit
and the webhook: kubectl's precedence and default namespace, checked against the loopback API server with
temp kubeconfig files and a fake service-account directory (the in-cluster address is HTTPS, verified with
its CA)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_loopback import Call, KubeLoopback, namespace, serving, write_kubeconfig

from webhook.certs import write_certificates
from webhook.cli import main
from webhook.kube_connect import Connection, KubeConfigError, api_client

NAMESPACE_PATH = "/api/v1/namespaces/shop"


@pytest.fixture
def kube() -> Iterator[KubeLoopback]:
    with serving() as loop:
        loop.answer("GET", NAMESPACE_PATH, (200, namespace("shop", {}, 1)))
        yield loop


@pytest.fixture
def in_cluster_kube(tmp_path: Path) -> Iterator[tuple[KubeLoopback, Path]]:
    """An HTTPS loopback API server and the service-account directory a pod would have for it."""
    certs = write_certificates(
        tmp_path / "pki", dns_names=["kubernetes.default.svc"], ip_addresses=["127.0.0.1"]
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certs.cert, certs.key)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_bytes(certs.ca_cert.read_bytes())
    (account / "token").write_text("service-account-token")
    (account / "namespace").write_text("incident\n")
    with serving(tls) as loop:
        loop.answer("GET", NAMESPACE_PATH, (200, namespace("shop", {}, 1)))
        yield loop, account


def pod_environment(loop: KubeLoopback, home: Path) -> dict[str, str]:
    """What a pod's environment holds: the API server's service address, and a HOME with no kubeconfig."""
    port = str(loop.server.server_address[1])
    return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port, "HOME": str(home)}


def kubeconfig_with_contexts(path: Path, server: str, contexts: dict[str, str | None], current: str) -> Path:
    """A kubeconfig whose contexts (name -> namespace, or none) all point at `server`."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "loop", "cluster": {"server": server}}],
                "users": [{"name": "rhea", "user": {"token": "kubeconfig-token"}}],
                "contexts": [
                    {
                        "name": name,
                        "context": {"cluster": "loop", "user": "rhea", **({"namespace": ns} if ns else {})},
                    }
                    for name, ns in contexts.items()
                ],
                "current-context": current,
            }
        )
    )
    return path


def reaches(connection: Connection, loop: KubeLoopback) -> str:
    """Reads a Namespace through the connection; returns the Authorization header the server saw."""
    from kubernetes import client

    read = client.CoreV1Api(connection.api_client).read_namespace("shop")
    assert read.metadata.name == "shop"
    return authorization(loop.calls_to("GET", NAMESPACE_PATH)[-1])


def authorization(call: Call) -> str:
    return next(value for key, value in call.headers.items() if key.lower() == "authorization")


def test_an_explicit_kubeconfig_gives_its_current_contexts_namespace(
    kube: KubeLoopback, tmp_path: Path
) -> None:
    config = kubeconfig_with_contexts(tmp_path / "config", kube.url, {"dev": "shop", "ops": None}, "dev")
    connection = api_client(kubeconfig=str(config), environ={})
    assert connection.namespace == "shop"
    assert reaches(connection, kube) == "Bearer kubeconfig-token"


def test_context_chooses_the_namespace_too(kube: KubeLoopback, tmp_path: Path) -> None:
    config = kubeconfig_with_contexts(
        tmp_path / "config", kube.url, {"dev": "shop", "ops": "payments"}, "dev"
    )
    assert api_client(kubeconfig=str(config), context="ops", environ={}).namespace == "payments"
    # A context without a namespace means "default", as kubectl says.
    config = kubeconfig_with_contexts(tmp_path / "config", kube.url, {"dev": "shop", "ops": None}, "dev")
    assert api_client(kubeconfig=str(config), context="ops", environ={}).namespace == "default"


def test_kubeconfig_variable_then_home_are_read_before_the_service_account(
    kube: KubeLoopback, in_cluster_kube: tuple[KubeLoopback, Path], tmp_path: Path
) -> None:
    in_cluster, account = in_cluster_kube
    home = tmp_path / "home"
    environ = pod_environment(in_cluster, home)
    listed = kubeconfig_with_contexts(tmp_path / "listed", kube.url, {"dev": "shop"}, "dev")
    # $KUBECONFIG is a path list; missing entries are skipped, as kubectl skips them.
    variable = {**environ, "KUBECONFIG": f"{tmp_path / 'missing'}:{listed}"}
    connection = api_client(environ=variable, service_account_dir=account)
    assert connection.namespace == "shop"
    assert reaches(connection, kube) == "Bearer kubeconfig-token"
    (home / ".kube").mkdir(parents=True)
    kubeconfig_with_contexts(home / ".kube" / "config", kube.url, {"home": None}, "home")
    connection = api_client(environ=environ, service_account_dir=account)
    assert connection.namespace == "default"
    assert reaches(connection, kube) == "Bearer kubeconfig-token"
    assert not in_cluster.calls


def test_without_a_kubeconfig_the_service_account_and_its_namespace(
    in_cluster_kube: tuple[KubeLoopback, Path], tmp_path: Path
) -> None:
    loop, account = in_cluster_kube
    connection = api_client(environ=pod_environment(loop, tmp_path), service_account_dir=account)
    assert connection.namespace == "incident"
    assert connection.api_client.configuration.host == loop.url
    assert reaches(connection, loop) == "bearer service-account-token"
    (account / "namespace").unlink()
    assert (
        api_client(environ=pod_environment(loop, tmp_path), service_account_dir=account).namespace
        == "default"
    )


def test_in_cluster_asked_for_ignores_a_kubeconfig(
    kube: KubeLoopback, in_cluster_kube: tuple[KubeLoopback, Path], tmp_path: Path
) -> None:
    loop, account = in_cluster_kube
    environ = {**pod_environment(loop, tmp_path), "KUBECONFIG": str(kube.kubeconfig(tmp_path))}
    connection = api_client(in_cluster=True, environ=environ, service_account_dir=account)
    assert reaches(connection, loop) == "bearer service-account-token"
    with pytest.raises(KubeConfigError, match="either the in-cluster service account or --kubeconfig"):
        api_client(in_cluster=True, kubeconfig=str(kube.kubeconfig(tmp_path)), service_account_dir=account)


def test_a_broken_explicit_kubeconfig_is_an_error_not_a_fall_back(
    in_cluster_kube: tuple[KubeLoopback, Path], tmp_path: Path
) -> None:
    loop, account = in_cluster_kube
    environ = pod_environment(loop, tmp_path)
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"kubeconfig": str(tmp_path / "missing")},
            f"cannot load the kubeconfig {tmp_path / 'missing'}: no such file",
        ),
        ({"kubeconfig": str(broken)}, f"cannot load the kubeconfig {broken}: while parsing a flow node"),
        (
            {"context": "prod"},
            r"cannot load the kubeconfig .*home.*\.kube/config \(context prod\): no such file",
        ),
    ]
    environ = pod_environment(loop, tmp_path / "home")
    for arguments, message in cases:
        with pytest.raises(KubeConfigError, match=message):
            api_client(**arguments, environ=environ, service_account_dir=account)
    kubeconfig = write_kubeconfig(tmp_path / "config", loop.url)
    with pytest.raises(KubeConfigError, match=r"\(context prod\): .*Expected object with name prod"):
        api_client(kubeconfig=str(kubeconfig), context="prod", environ=environ, service_account_dir=account)
    assert not loop.calls


def test_nothing_to_use_names_everything_tried(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as info:
        api_client(environ={"HOME": str(tmp_path)}, service_account_dir=tmp_path / "sa")
    assert str(info.value) == (
        f"no kubeconfig ({tmp_path}/.kube/config: no such file) and no in-cluster service account "
        f"({tmp_path}/sa): Service host/port is not set."
    )
    environ = {
        "KUBECONFIG": "/nowhere/a:/nowhere/b",
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }
    with pytest.raises(KubeConfigError) as info:
        api_client(environ=environ, service_account_dir=tmp_path / "sa")
    assert str(info.value) == (
        "no kubeconfig ($KUBECONFIG (/nowhere/a:/nowhere/b): no such file) and no in-cluster service account "
        f"({tmp_path}/sa): Service token file does not exist."
    )


def test_hold_in_a_pod_acts_in_the_service_accounts_namespace(
    in_cluster_kube: tuple[KubeLoopback, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loop, account = in_cluster_kube
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "incident", "labels": {}},
    }
    loop.answer("GET", "/api/v1/namespaces/incident/pods/web", (200, pod))
    monkeypatch.setattr("webhook.kube_connect.SERVICE_ACCOUNT_DIR", account)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    for key, value in pod_environment(loop, tmp_path).items():
        monkeypatch.setenv(key, value)
    assert main(["release", "pod/web"]) == 0
    assert "pod/web in namespace incident is not held" in capsys.readouterr().out
    assert [authorization(call) for call in loop.calls] == ["bearer service-account-token"]


def test_release_without_namespace_uses_the_contexts(
    kube: KubeLoopback, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "payments", "labels": {}},
    }
    kube.answer("GET", "/api/v1/namespaces/payments/pods/web", (200, pod))
    config = kubeconfig_with_contexts(
        tmp_path / "config", kube.url, {"dev": "shop", "ops": "payments"}, "dev"
    )
    assert main(["release", "pod/web", "--kubeconfig", str(config), "--context", "ops"]) == 0
    assert "pod/web in namespace payments is not held" in capsys.readouterr().out


def test_doctor_and_audit_report_what_was_tried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing")
    assert main(["doctor", "--cluster", "--kubeconfig", missing]) == 2
    assert f"cannot load the kubeconfig {missing}: no such file" in capsys.readouterr().err
    assert main(["audit", "--cluster", "--kubeconfig", missing]) == 2
    assert f"cannot load the kubeconfig {missing}: no such file" in capsys.readouterr().err
    assert main(["audit", "--cluster", "--in-cluster", "--kubeconfig", missing]) == 2
    assert "either the in-cluster service account or --kubeconfig/--context" in capsys.readouterr().err


def test_the_webhook_prefers_its_service_account_then_a_kubeconfig(
    kube: KubeLoopback,
    in_cluster_kube: tuple[KubeLoopback, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from webhook.namespaces import api_client as webhook_client

    loop, account = in_cluster_kube
    monkeypatch.setattr("webhook.kube_connect.SERVICE_ACCOUNT_DIR", account)
    for key, value in pod_environment(loop, tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig(tmp_path)))
    connection = Connection(webhook_client(), "")
    assert reaches(connection, loop) == "bearer service-account-token"  # in its pod, as docs/webhook.md says
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert reaches(Connection(webhook_client(), ""), kube) == "Bearer loopback-token"
    monkeypatch.delenv("KUBECONFIG")
    assert webhook_client() is None  # no cluster: the caller runs without namespace labels
