"""The server over time: policy hot reload (and a broken set), certificate rotation without a failed
request, the global dry-run mode, graceful shutdown, the plaintext development flag."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import POLICIES, shared_review
from webhook_support import SLOW_STARTED_FILE
from webhook_support.server import RunningServer, free_port, make_certs, policy

from webhook.certs import write_certificates


def eventually(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_policies_reload_and_a_broken_set_keeps_the_last_good_one(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(POLICIES / "no-root.yaml", policies)
    server = RunningServer(tmp_path / "run", [policies], workers=2)
    try:
        review = shared_review("deployment-create.json")
        review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
        assert server.post("validate", review).json()["response"]["allowed"] is True

        (policies / "latest.yaml").write_text(policy("latest", check="test-latest-tag"))
        assert eventually(lambda: server.get("readyz").json()["policies"] == ["latest", "no-root"])

        # Every worker serves the new set (new connections spread over both; each worker looks at the
        # files at most every 2 s, so the second one may answer from the old set for a moment).
        def every_worker_denies() -> bool:
            replies = [
                requests.post(
                    f"{server.base}/validate", json=review, verify=server.session.verify, timeout=10
                )
                for _ in range(6)
            ]
            return all(reply.json()["response"]["allowed"] is False for reply in replies)

        assert eventually(every_worker_denies)

        (policies / "latest.yaml").write_text(policy("latest", check="no-such-check"))
        ready = eventually(lambda: server.get("readyz").json()["degraded"] and server.get("readyz").json())
        assert ready["ready"] is True  # still serving: a bad ConfigMap must not take every replica out
        assert "last reload failed, serving the last good set" in ready["degraded"][0]
        assert "latest.yaml" in ready["degraded"][0] and "no-such-check" in ready["degraded"][0]
        assert ready["policies"] == ["latest", "no-root"]
        assert server.post("validate", review).json()["response"]["allowed"] is False
        assert 'podgate_policy_reloads_total{result="failure"}' in server.get("metrics").text
        assert "policy reload failed; keeping the last good set" in server.stderr()

        (policies / "latest.yaml").unlink()
        assert eventually(lambda: server.get("readyz").json()["policies"] == ["no-root"])
        assert server.get("readyz").json()["degraded"] == []
    finally:
        server.stop()


def test_a_configmap_symlink_swap_is_seen(tmp_path: Path) -> None:
    mount = tmp_path / "mount"
    first, second = mount / "..2026_11_01", mount / "..2026_11_02"
    first.mkdir(parents=True)
    second.mkdir()
    shutil.copy(POLICIES / "no-root.yaml", first / "policy.yaml")
    (second / "policy.yaml").write_text(policy("only-latest", check="test-latest-tag"))
    (mount / "..data").symlink_to(first.name)
    (mount / "policy.yaml").symlink_to("..data/policy.yaml")
    server = RunningServer(tmp_path / "run", [mount])
    try:
        assert server.get("readyz").json()["policies"] == ["no-root"]
        (mount / "..data_tmp").symlink_to(second.name)
        os.replace(mount / "..data_tmp", mount / "..data")  # what the kubelet does, atomically
        assert eventually(lambda: server.get("readyz").json()["policies"] == ["only-latest"])
    finally:
        server.stop()


def test_certificate_rotation_without_a_restart_or_a_failed_request(tmp_path: Path) -> None:
    live = tmp_path / "live"
    certs = make_certs(live)
    server = RunningServer(tmp_path / "run", [POLICIES], certs=certs, workers=2)
    new = write_certificates(tmp_path / "new", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    both = tmp_path / "both-cas.pem"
    both.write_bytes(certs.ca_cert.read_bytes() + new.ca_cert.read_bytes())
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def load() -> None:  # a new connection each time, trusting both CAs, throughout the rotation
        nonlocal answered
        while not stop.is_set():
            try:
                reply = requests.get(f"{server.base}/healthz", verify=str(both), timeout=10)
                reply.raise_for_status()
                answered += 1
            except requests.RequestException as exc:
                failures.append(repr(exc))

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(0.5)
        # Swap key and certificate the way a Secret update does: all at once.
        staged = tmp_path / "staged"
        shutil.copytree(tmp_path / "new", staged)
        os.replace(staged / "tls.key", certs.key)
        os.replace(staged / "tls.crt", certs.cert)

        def new_ca_works() -> bool:
            try:
                return requests.get(f"{server.base}/healthz", verify=str(new.ca_cert), timeout=5).ok
            except requests.exceptions.SSLError:
                return False

        assert eventually(new_ca_works)
        time.sleep(1)  # five reload intervals: every worker has looked at the files
        for _ in range(6):
            assert new_ca_works()
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.base}/healthz", verify=str(certs.ca_cert), timeout=5)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        server.stop()
    assert failures == [] and answered > 10
    assert server.process.returncode == 0


def test_global_dry_run_never_denies_and_counts_would_denials(tmp_path: Path) -> None:
    server = RunningServer(tmp_path, [POLICIES / "no-root.yaml"], args=["--mode", "dry-run"])
    try:
        review = shared_review("pod-create-kubectl-run.json")
        response = server.post("validate", review).json()["response"]
        assert response["allowed"] is True and "status" not in response
        assert response["warnings"][0].startswith('[dry-run] would deny: container "web"')
        assert "[policy no-root]" in response["auditAnnotations"]["would-deny"]
        metrics = server.get("metrics").text
        assert 'podgate_would_deny_total{policy="no-root"} 1.0' in metrics
        assert 'decision="would-deny"' in metrics and 'mode="dry-run"' in metrics
        assert '"mode":"dry-run"' in server.stdout() and '"wouldDeny":true' in server.stdout()
    finally:
        server.stop()


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "slow.yaml").write_text(policy("slow", check="test-slow"))
    started = tmp_path / "slow-check-started"
    server = RunningServer(
        tmp_path / "run", [policies], args=["--deadline-ms", "9000"], env={SLOW_STARTED_FILE: str(started)}
    )
    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["object"]["metadata"]["labels"]["podgate-test/slow"] = "1.5"
    result: dict[str, Any] = {}

    def call() -> None:
        result["reply"] = server.post("validate", review)

    thread = threading.Thread(target=call)
    thread.start()
    assert eventually(started.exists), "the slow check never started"  # the request is being judged
    server.process.send_signal(signal.SIGTERM)
    thread.join()
    assert server.process.wait(timeout=30) == 0
    assert result["reply"].status_code == 200
    assert result["reply"].json()["response"]["allowed"] is True
    server.stop()


def test_plaintext_only_behind_the_development_flag(tmp_path: Path) -> None:
    import subprocess
    import sys

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODGATE_")}
    command = [
        sys.executable,
        "-m",
        "webhook",
        "serve",
        "--insecure-plaintext",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with open(tmp_path / "err.log", "wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    try:
        session = requests.Session()
        session.trust_env = False
        ok = eventually(lambda: _get_quietly(session, f"http://127.0.0.1:{port}/healthz"), timeout=30)
        assert ok, (tmp_path / "err.log").read_text()
        assert "plain HTTP (--insecure-plaintext), for development only" in (tmp_path / "err.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _get_quietly(session: requests.Session, url: str) -> bool:
    try:
        return session.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def test_the_tls_context_is_reused_and_requires_tls_1_2(tmp_path: Path) -> None:
    from webhook.reloading import ReloadingTLS

    certs = make_certs(tmp_path)
    tls = ReloadingTLS(certs.cert, certs.key, interval=0)
    first = tls.context()
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.context() is first  # not rebuilt per connection
    certs.key.write_text("half-written")  # a rotation caught half-way keeps the previous context
    assert tls.context() is first and "cannot load" in tls.error
