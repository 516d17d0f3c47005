"""The webhook judging sessions, deletes and evictions: real gunicorn over TLS, a loopback API server.

CONNECT, DELETE and eviction reviews are shaped as the API server sends them; the held-pod cache of the
worker list-watches the loopback; session records land in the hash-chained decision log and verify.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import POLICIES, shared_review
from incident_fixtures import RESPONDER, held_delete, incident_review, with_user
from kube_loopback import CLOSE, KubeLoopback, serving, wait_for
from test_held_pods import PODS, api_pod, event, pod_list
from webhook_support.server import RunningServer, policy

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"


@pytest.fixture
def kube() -> Iterator[tuple[KubeLoopback, queue.Queue[Any]]]:
    with serving() as loop:
        loop.answer("GET", PODS, pod_list(api_pod("web")))  # shop/web is held
        events = loop.watch(PODS)
        yield loop, events
        events.put(CLOSE)


def serve(
    tmp_path: Path, policies: list[Path], kube: KubeLoopback | None, args: tuple[str, ...] = ()
) -> RunningServer:
    env = {"PODGATE_NAMESPACE_LABELS": "false", "PODGATE_DECISION_LOG": str(tmp_path / "decisions.jsonl")}
    if kube is not None:
        env["PODGATE_KUBE_API"] = kube.url
    return RunningServer(tmp_path / "server", policies, env=env, args=args)


def decision_lines(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]


def verify_log(tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "webhook", "log", "verify", str(tmp_path / "decisions.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait_synced(server: RunningServer) -> dict[str, Any]:
    assert wait_for(lambda: server.get("readyz").json()["heldPods"]["state"] == "synced", timeout=10)
    return dict(server.get("readyz").json())


def test_sessions_deletes_and_evictions_are_judged_with_the_held_pod_cache(
    tmp_path: Path, kube: tuple[KubeLoopback, queue.Queue[Any]]
) -> None:
    loop, events = kube
    server = serve(tmp_path, [POLICIES / "forensic-hold.yaml", POLICIES / "exec-control.yaml"], loop)
    try:
        ready = wait_synced(server)
        assert ready["heldPods"] == {"state": "synced", "held": 1} and not ready["degraded"]

        exec_web = incident_review("pod-connect-exec.json")  # names shop/web, which is held
        refused = server.post("validate", exec_web).json()["response"]
        assert refused["allowed"] is False and "forensic hold" in refused["status"]["message"]
        assert server.post("validate", with_user(exec_web, RESPONDER)).json()["response"]["allowed"]

        eviction = server.post("validate", incident_review("pod-create-eviction.json")).json()["response"]
        assert eviction["allowed"] is False and "forensic hold" in eviction["status"]["message"]
        assert server.post("validate", held_delete()).json()["response"]["allowed"] is False

        # The hold is lifted: the API server's watch drops the pod from the selection.
        events.put(event("DELETED", api_pod("web", rv="101", held=False)))
        assert wait_for(lambda: server.get("readyz").json()["heldPods"]["held"] == 0)
        attach = server.post("validate", incident_review("pod-connect-attach.json")).json()["response"]
        assert attach["allowed"] is True  # exec-control warns (Warn, Audit) the ungranted user
        assert server.post("validate", incident_review("pod-create-eviction.json")).json()["response"][
            "allowed"
        ]

        lines = decision_lines(tmp_path)
        sessions = [line for line in lines if line.get("event") == "pod-session"]
        assert [(s["action"], s["allowed"]) for s in sessions] == [
            ("exec", False),
            ("exec", True),
            ("attach", True),
        ]
        assert (
            sessions[0]["pod"] == "web" and sessions[0]["user"] == exec_web["request"]["userInfo"]["username"]
        )
        assert sessions[0]["uid"] == exec_web["request"]["uid"] and sessions[0]["denials"]
        assert sessions[1]["groups"] == RESPONDER["groups"]
        assert all("event" not in line for line in lines if line["subResource"] == "eviction")
        assert len(lines) == 6 and verify_log(tmp_path).startswith("ok: 6 entries")

        metrics = server.get("metrics").text
        assert 'podgate_sessions_total{action="exec",decision="deny"} 1.0' in metrics
        assert 'podgate_sessions_total{action="exec",decision="allow"} 1.0' in metrics
        assert 'podgate_sessions_total{action="attach",decision="allow"} 1.0' in metrics
    finally:
        server.stop()


def test_without_a_synced_cache_the_failure_policy_decides_and_readyz_says_why(tmp_path: Path) -> None:
    server = serve(tmp_path, [POLICIES / "forensic-hold.yaml"], None)  # no cluster configured
    try:
        ready = server.get("readyz").json()
        assert ready["heldPods"]["state"] == "unavailable"
        assert any(d.startswith("held pods: no cluster configured") for d in ready["degraded"])
        refused = server.post("validate", incident_review("pod-connect-exec.json")).json()["response"]
        assert refused["allowed"] is False and "has not synced" in refused["status"]["message"]
        responder = with_user(incident_review("pod-connect-exec.json"), RESPONDER)
        assert server.post("validate", responder).json()["response"]["allowed"] is True
    finally:
        server.stop()


def test_in_dry_run_a_refused_session_is_let_through_and_recorded_as_would_deny(tmp_path: Path) -> None:
    server = serve(tmp_path, [POLICIES / "forensic-hold.yaml"], None, args=("--mode", "dry-run"))
    try:
        answered = server.post("validate", incident_review("pod-connect-exec.json")).json()["response"]
        assert answered["allowed"] is True and answered["warnings"][0].startswith("[dry-run] would deny")
        (line,) = decision_lines(tmp_path)
        assert line["event"] == "pod-session" and line["allowed"] is True and line["wouldDeny"] is True
        assert line["denials"] and line["policies"] == {"forensic-hold": "error"}
        assert 'podgate_sessions_total{action="exec",decision="would-deny"} 1.0' in server.get("metrics").text
        verify_log(tmp_path)
    finally:
        server.stop()


def test_requests_no_policy_judges_pass_through_and_sessions_are_still_recorded(tmp_path: Path) -> None:
    rule = tmp_path / "no-privileged.yaml"
    rule.write_text(policy("no-privileged", check="no-privileged"))
    server = serve(tmp_path, [rule], None)
    try:
        assert server.get("readyz").json()["heldPods"] == {"state": "not-needed"}
        for name in (
            "pod-connect-exec.json",
            "pod-connect-portforward-ports.json",
            "pod-create-eviction.json",
        ):
            assert server.post("validate", incident_review(name)).json()["response"]["allowed"] is True
        assert server.post("validate", shared_review("pod-delete.json")).json()["response"]["allowed"]
        lines = decision_lines(tmp_path)
        assert [line["notes"] for line in lines] == [
            ["operation CONNECT on 'exec' is not judged by any policy"],
            ["operation CONNECT on 'portforward' is not judged by any policy"],
            ["operation CREATE on 'eviction' is not judged by any policy"],
            ["operation DELETE is not judged by any policy"],
        ]
        assert [line.get("action") for line in lines] == ["exec", "portforward", None, None]
        assert lines[1]["ports"] and lines[1]["event"] == "pod-session"
        verify_log(tmp_path)
    finally:
        server.stop()


def scan_policy(reports: Path) -> str:
    text = (POLICIES / "scan-verdicts.yaml").read_text()
    text = text.replace("[/etc/podgate/scan-reports]", f"[{json.dumps(str(reports))}]")
    return text.replace("actions: [Warn, Audit]", "actions: [Deny]")


def test_a_changed_scan_report_reloads_the_policies_and_a_broken_one_keeps_the_last_good_set(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(SCANS / "approved.txt", reports / "approved.txt")
    rule = tmp_path / "scan-verdicts.yaml"
    rule.write_text(scan_policy(reports))
    approved = next(
        line.strip()
        for line in (SCANS / "approved.txt").read_text().splitlines()
        if "@sha256:" in line and not line.startswith("#")
    )
    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["object"]["spec"]["containers"][0]["image"] = approved
    server = serve(tmp_path, [rule], None)
    try:
        assert server.post("validate", review).json()["response"]["allowed"] is True

        (reports / "approved.txt").write_text("# nothing approved any more\n")
        assert wait_for(lambda: not server.post("validate", review).json()["response"]["allowed"], timeout=10)

        (reports / "broken.json").write_text('{"SchemaVersion": 2, "Results": 7}')
        assert wait_for(lambda: bool(server.get("readyz").json()["degraded"]), timeout=10)
        degraded = " ".join(server.get("readyz").json()["degraded"])
        assert "broken.json" in degraded and "last good set" in degraded
        assert server.post("validate", review).json()["response"]["allowed"] is False  # the last good set

        (reports / "broken.json").unlink()
        shutil.copy(SCANS / "approved.txt", reports / "approved.txt")
        assert wait_for(lambda: server.post("validate", review).json()["response"]["allowed"], timeout=10)
        assert not server.get("readyz").json()["degraded"]
    finally:
        server.stop()


def test_a_policy_set_reloaded_with_a_hold_policy_starts_the_cache(
    tmp_path: Path, kube: tuple[KubeLoopback, queue.Queue[Any]]
) -> None:
    loop, _ = kube
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "no-privileged.yaml").write_text(policy("no-privileged", check="no-privileged"))
    server = serve(tmp_path, [policies], loop)
    try:
        assert server.get("readyz").json()["heldPods"] == {"state": "not-needed"}
        time.sleep(0.3)
        assert not loop.calls_to("GET", PODS)  # no watch while no policy needs one
        shutil.copy(POLICIES / "forensic-hold.yaml", policies / "forensic-hold.yaml")
        wait_synced(server)
        refused = server.post("validate", incident_review("pod-connect-exec.json")).json()["response"]
        assert refused["allowed"] is False
    finally:
        server.stop()
