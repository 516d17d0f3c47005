"""Continuous audit: metrics and the last report over HTTP, a failed run keeps the last good report."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from audit_helpers import NO_ROOT, bad_pod, good_pod
from prometheus_client.parser import text_string_to_metric_families

from webhook.audit.continuous import AuditState, parse_duration, run_forever, serve
from webhook.audit.run import audit
from webhook.audit.stream import Located
from webhook.cli import main
from webhook.policy import load_policies


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h30m", 5400), ("2h", 7200)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "0s", "5 minutes", "1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_metrics_and_report_served_and_kept_across_a_failed_run() -> None:
    policies = load_policies(NO_ROOT)
    objects = [bad_pod("a", "shop"), bad_pod("b", "shop"), good_pod("c", "dev"), bad_pod("d", "dev")]
    outcomes = iter(["ok", "fail"])
    logs: list[str] = []

    def once() -> tuple:
        if next(outcomes) == "fail":
            raise RuntimeError("listing pods: HTTP 403 Forbidden")
        result = audit([Located("x", 0, i, None, o) for i, o in enumerate(objects)], policies)
        return result, json.dumps({"kind": "AuditReport", "failing": len(result.failing)})

    state = AuditState()
    with serve(state, "127.0.0.1", 0) as (host, port):
        base = f"http://{host}:{port}"
        assert requests.get(f"{base}/report", timeout=5).status_code == 503
        run_forever(state, once, 0.01, threading.Event(), max_runs=2, log=logs.append)
        report = requests.get(f"{base}/report", timeout=5)
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert requests.get(f"{base}/healthz", timeout=5).text == "ok\n"
        assert requests.get(f"{base}/nope", timeout=5).status_code == 404
    assert report.json() == {
        "kind": "AuditReport",
        "failing": 3,
    }  # the good run's report survives the bad one
    samples = _samples(metrics.text)
    assert (
        samples[
            "podgate_audit_violations", (("action", "Deny"), ("namespace", "shop"), ("policy", "no-root"))
        ]
        == 2
    )
    assert (
        samples["podgate_audit_violations", (("action", "Deny"), ("namespace", "dev"), ("policy", "no-root"))]
        == 1
    )
    assert samples["podgate_audit_failing_objects", (("namespace", "shop"),)] == 2
    assert samples["podgate_audit_objects_judged", ()] == 4
    assert samples["podgate_audit_runs_total", (("outcome", "ok"),)] == 1
    assert samples["podgate_audit_runs_total", (("outcome", "error"),)] == 1
    assert samples["podgate_audit_last_run_timestamp_seconds", ()] > time.time() - 60
    assert logs[1] == "podgate audit: run failed: listing pods: HTTP 403 Forbidden"


def test_cli_interval_runs_and_serves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"kind": "List", "items": [bad_pod("a")]}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [
        "audit",
        "-p",
        str(NO_ROOT),
        "--interval",
        "1s",
        "--runs",
        "2",
        "--listen",
        f"127.0.0.1:{port}",
        str(dump),
    ]
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(argv)))
    thread.start()
    report = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and report is None:
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/report", timeout=2)
            report = answer.json() if answer.status_code == 200 else None
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    thread.join(timeout=20)
    assert codes == [0]
    assert report is not None and [r["ref"] for r in report["results"]] == ["Pod/shop/a"]
    assert "integrity" in report
    assert "serving /metrics and /report on 127.0.0.1" in capsys.readouterr().err


def test_cli_interval_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "-p", str(NO_ROOT), "--interval", "soon", "x.json"]) == 2
    assert "--interval 'soon' is not a duration" in capsys.readouterr().err
    assert main(["audit", "-p", str(NO_ROOT), "--interval", "1m", "-"]) == 2
    assert "stdin (-) cannot be audited continuously" in capsys.readouterr().err
    assert main(["audit", "-p", str(NO_ROOT), "--interval", "1m", "--listen", "nowhere", "x.json"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
