"""Continuous audit: run the audit every interval, expose metrics and the last report over HTTP.

    GET /metrics   Prometheus text: violations by policy, namespace and action (of the last run),
                   failing objects, last run time and duration, runs by outcome
    GET /report    the last JSON report (sealed, as `-o json`); 503 until the first run has finished
    GET /healthz   200

A run that fails (the cluster unreachable, a list refused) is counted and logged; the last good report
and its metrics stay served, so one bad run never blanks what a dashboard shows.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .run import AuditResult

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> float:
    """`30s`, `10m`, `1h30m` -> seconds (at least one second)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise ValueError(f"{text!r}: the interval must be at least 1s")
    return float(total)


class AuditState:
    """The metrics and the last report, shared between the audit loop and the HTTP server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.violations = Gauge(
            "podgate_audit_violations",
            "Violations found by the last audit run, at the object to fix",
            ["policy", "namespace", "action"],
            registry=self.registry,
        )
        self.failing = Gauge(
            "podgate_audit_failing_objects",
            "Objects failing in the last run",
            ["namespace"],
            registry=self.registry,
        )
        self.judged = Gauge(
            "podgate_audit_objects_judged", "Objects judged in the last run", registry=self.registry
        )
        self.last_run = Gauge(
            "podgate_audit_last_run_timestamp_seconds",
            "When the last successful run finished",
            registry=self.registry,
        )
        self.duration = Gauge(
            "podgate_audit_last_run_duration_seconds",
            "How long the last successful run took",
            registry=self.registry,
        )
        self.runs = PromCounter(
            "podgate_audit_runs", "Audit runs by outcome", ["outcome"], registry=self.registry
        )
        self._lock = threading.Lock()
        self._report: bytes | None = None

    def record(self, result: AuditResult, report: str) -> None:
        counts: Counter[tuple[str, str, str]] = Counter()
        failing: Counter[str] = Counter()
        for r in result.failing:
            failing[r.namespace] += 1
            for f in r.findings:
                counts[f.policy, r.namespace, f.action] += 1
        with self._lock:
            self.violations.clear()
            for (policy, namespace, action), n in counts.items():
                self.violations.labels(policy, namespace, action).set(n)
            self.failing.clear()
            for namespace, n in failing.items():
                self.failing.labels(namespace).set(n)
            self.judged.set(result.objects_judged)
            self.last_run.set(result.finished)
            self.duration.set(result.finished - result.started)
            self.runs.labels("ok").inc()
            self._report = report.encode("utf-8")

    def failed(self) -> None:
        self.runs.labels("error").inc()

    @property
    def report(self) -> bytes | None:
        with self._lock:
            return self._report


@contextmanager
def serve(state: AuditState, host: str, port: int) -> Iterator[tuple[str, int]]:
    """Serve /metrics, /report and /healthz in a background thread; yields the bound address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(state.registry))
            elif path == "/report":
                report = state.report
                if report is None:
                    self._send(503, "text/plain; charset=utf-8", b"no audit run has finished yet\n")
                else:
                    self._send(200, "application/json", report)
            elif path == "/healthz":
                self._send(200, "text/plain; charset=utf-8", b"ok\n")
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: /metrics, /report, /healthz\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # the audit logs its runs; requests are noise
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="podgate-audit-http", daemon=True)
    thread.start()
    try:
        address = server.server_address
        yield str(address[0]), int(address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_forever(
    state: AuditState,
    run_once: Callable[[], tuple[AuditResult, str]],
    interval: float,
    stop: threading.Event,
    *,
    max_runs: int | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Run, record, wait `interval` (from the start of a run), until `stop` is set or `max_runs` ran."""
    runs = 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        started = time.monotonic()
        try:
            result, report = run_once()
        except Exception as exc:  # keep serving the last good report; say what went wrong
            state.failed()
            log(f"podgate audit: run failed: {exc}")
        else:
            state.record(result, report)
            log(
                f"podgate audit: {result.objects_judged} objects judged, {len(result.failing)} failing,"
                f" {result.finished - result.started:.1f}s"
            )
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
