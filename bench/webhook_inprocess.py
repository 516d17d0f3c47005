"""CPU per /validate request in one process, by stage, against a do-nothing app called the same way.

    .venv/bin/python bench/webhook_inprocess.py [--requests 3000] [--profile]

No sockets, no TLS, no gunicorn: each request is a direct WSGI call (a prepared environ, a fresh body
stream) so what is measured is the Flask app and podgate's own work. Process time, so a busy machine
disturbs it less than wall-clock figures. Every figure is printed in µs and as a ratio to the do-nothing
Flask app measured in the same run (it reads the body and answers a fixed review, like the baseline of
bench/bench_webhook.py).

Rows:
- do-nothing app (the baseline), full /validate as `podgate serve` runs it (metrics in prometheus-client
  multiprocess mode, a decision line on stdout, here /dev/null) with and without the hash-chained file,
- the stages of the request path called alone: body decode + AdmissionReview parse, evaluate, the metric
  observations, the stdout decision line, the chained file append, the JSON answer.

Samples: the shared kubectl-run Pod (denied by no-root) and a Deployment create. `--profile` prints the
top cProfile entries of the full path. Multiprocess metrics need PROMETHEUS_MULTIPROC_DIR set before
prometheus_client is imported: the script re-runs itself in a child with it set.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = Path("/work/shared/fixtures/admission")
FALLBACK = ROOT / "tests" / "fixtures" / "admission"


def sample(name: str) -> bytes:
    for directory in (SAMPLES, FALLBACK):
        if (directory / name).exists():
            return (directory / name).read_bytes()
    raise SystemExit(f"sample {name} not found in {SAMPLES} or {FALLBACK}")


def wsgi_caller(app: Any, path: str, body: bytes) -> Callable[[], None]:
    """One request per call: a copy of a prepared environ with a fresh input stream; the body consumed."""
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(path=path, method="POST", data=body, content_type="application/json").get_environ()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    def call() -> None:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        result = app(environ, start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()

    return call


def outside_engine(app: Any, body: bytes, decision: Any) -> float:
    """/validate with `evaluate` answering a decision made beforehand: everything but the engine."""
    from webhook import app as app_module

    real = app_module.evaluate
    app_module.evaluate = lambda *args, **kwargs: decision  # type: ignore[assignment]
    try:
        return per_call_us(wsgi_caller(app, "/validate", body), BENCH_REQUESTS[0])
    finally:
        app_module.evaluate = real


BENCH_REQUESTS = [3000]


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    for _ in range(min(200, n)):
        fn()
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def measure(n: int, profile: bool) -> None:
    BENCH_REQUESTS[0] = n
    from flask import Flask, Response, request

    from webhook import app as app_module
    from webhook import metrics
    from webhook.decisionlog import DecisionLog
    from webhook.policy import evaluate
    from webhook.review import decode_json, parse_review
    from webhook.settings import Settings

    # The decision line goes to stdout in production: same handler and formatter, into /dev/null.
    app_module.configure_logging()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the run
    for handler in app_module.decisions_log.handlers:
        handler.setStream(devnull)  # type: ignore[attr-defined]

    nothing = Flask("baseline")
    fixed = (
        b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"x","allowed":true}}'
    )

    @nothing.post("/validate")
    def validate() -> Response:
        request.get_data()
        return Response(fixed, content_type="application/json")

    workdir = Path(tempfile.mkdtemp(prefix="podgate-bench-"))
    plain = app_module.create_app(Settings(), watch=False)
    chained = app_module.create_app(Settings(decision_log=workdir / "decisions.jsonl"), watch=False)
    runtime = plain.extensions["podgate"]
    policies = runtime.store.current.policies
    multiproc = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    print(f"metrics: {'multiprocess (as podgate serve)' if multiproc else 'in-memory registry'}")

    def one(label: str, name: str) -> None:
        body = sample(name)
        review = parse_review(decode_json(body))
        decision = evaluate(policies, review.request)
        outcome = "allowed" if decision.allowed else "denied"
        base = per_call_us(wsgi_caller(nothing, "/validate", body), n)
        rows: list[tuple[str, float]] = [
            ("do-nothing Flask app (baseline)", base),
            ("/validate, stdout decision line", per_call_us(wsgi_caller(plain, "/validate", body), n)),
            ("/validate, + chained decision file", per_call_us(wsgi_caller(chained, "/validate", body), n)),
            ("/validate, engine's decision given", outside_engine(plain, body, decision)),
            ("  decode + parse AdmissionReview", per_call_us(lambda: parse_review(decode_json(body)), n)),
            ("  evaluate", per_call_us(lambda: evaluate(policies, review.request), n)),
        ]

        def observe() -> None:
            metrics.LATENCY.labels(endpoint="validate").observe(0.001)
            metrics.REQUESTS.labels(
                endpoint="validate",
                operation="CREATE",
                kind="Pod",
                decision="deny",
                mode="enforce",
                dry_run="false",
            ).inc()
            metrics.VIOLATIONS.labels(policy="no-root", action="deny").inc()

        def observe_cached() -> None:  # as the app does it
            metrics.child(metrics.LATENCY, "validate").observe(0.001)
            metrics.child(metrics.REQUESTS, "validate", "CREATE", "Pod", "deny", "enforce", "false").inc()
            metrics.child(metrics.VIOLATIONS, "no-root", "deny").inc()

        entry = {"time": "2026-01-01T00:00:00.000Z", "uid": review.uid, "allowed": decision.allowed}
        entry.update(app_module._decision_entry(decision))
        log_file = DecisionLog(workdir / "stage.jsonl")
        answer_body = app_module.answer(review, allowed=decision.allowed, message=decision.deny_message())
        context = plain.test_request_context()
        context.push()
        rows += [
            ("  metrics: histogram + 2 counters", per_call_us(observe, n)),
            ("  the same, children looked up once", per_call_us(observe_cached, n)),
            (
                "  stdout decision line",
                per_call_us(
                    lambda: app_module._record(
                        runtime,
                        review,
                        "validate",
                        "enforce",
                        {"allowed": decision.allowed},
                        dict(entry),
                        0.001,
                    ),
                    n,
                ),
            ),
            ("  chained file append", per_call_us(lambda: log_file.append(entry), n)),
            ("  JSON answer (Response)", per_call_us(lambda: app_module._json(answer_body), n)),
        ]
        context.pop()
        print(f"\n{label} ({outcome}), {n} requests, CPU µs per request (best of 3), ratio to baseline")
        for row, us in rows:
            print(f"  {row:<40} {us:8.1f} µs  {us / base:5.2f}x")
        print(f"  baseline / podgate (throughput ratio bound, stdout only): {base / rows[1][1]:.2f}")

        if profile:
            import cProfile
            import pstats

            call = wsgi_caller(chained, "/validate", body)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                call()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    for label, name in (
        ("kubectl-run Pod", "pod-create-kubectl-run.json"),
        ("Deployment", "deployment-create.json"),
    ):
        one(label, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        measure(args.requests, args.profile)
        return 0
    with tempfile.TemporaryDirectory(prefix="podgate-metrics-") as directory:
        env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=directory)
        command = [sys.executable, __file__, "--child", "--requests", str(args.requests)]
        return subprocess.call(command + (["--profile"] if args.profile else []), env=env)


if __name__ == "__main__":
    sys.exit(main())
