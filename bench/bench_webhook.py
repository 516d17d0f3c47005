"""Webhook throughput and latency over TLS with keep-alive, against a baseline measured in the same run.

    .venv/bin/python bench/bench_webhook.py [--seconds 8] [--connections 8] [--workers 2]

Starts the real server (`podgate serve`, shipped policies, gunicorn gthread over TLS) on loopback and,
beside it, a do-nothing Flask app on exactly the same gunicorn settings (same server class, TLS context,
workers and threads), and loads both from separate client processes, each connection kept alive (as the
API server does):

- baseline: POST of the same AdmissionReview to the do-nothing app, which reads the body and answers a
  fixed "allowed" review (the HTTP + TLS + gunicorn + Flask cost, no parsing, no judging)
- /validate: POST of a real AdmissionReview (a kubectl-run Pod, denied by no-root) to podgate
- GET /healthz on podgate, for reference

Rounds alternate baseline and /validate so that the machine's noise hits both alike. Prints requests/s,
p50/p99 latency, the ratio to the baseline, the server CPU per new TLS connection (handshake with the
reused context), what building a context per connection (gunicorn's default) would add, and RSS per worker.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.certs import write_certificates  # noqa: E402
from webhook.cli.serve import SAMPLE_REVIEW  # noqa: E402


def serve_baseline(port: int, cert: str, key: str, workers: int) -> None:
    """The do-nothing app, served by podgate's own gunicorn class and settings."""
    from flask import Flask, Response, request

    from webhook.reloading import ReloadingTLS
    from webhook.server import WebhookServer
    from webhook.settings import Settings

    answer = json.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": "x", "allowed": True},
        }
    ).encode()

    class DoNothing(WebhookServer):  # type: ignore[misc]
        def load(self) -> Any:
            app = Flask("baseline")

            @app.post("/validate")
            def validate() -> Response:
                request.get_data()
                return Response(answer, content_type="application/json")

            return app

    settings = Settings(bind=f"127.0.0.1:{port}", workers=workers, cert=Path(cert), key=Path(key))
    DoNothing(settings, ReloadingTLS(Path(cert), Path(key))).run()


def in_process_cpu(body: bytes, n: int = 2000) -> tuple[float, float]:
    """CPU per request (process time, µs) through the WSGI stack without sockets: do-nothing vs podgate.

    Process time counts only this process's CPU, so it is far less disturbed by a busy machine than the
    wall-clock figures above.
    """
    from flask import Flask, Response, request

    from webhook.app import create_app
    from webhook.settings import Settings

    nothing = Flask("baseline")

    @nothing.post("/validate")
    def validate() -> Response:
        request.get_data()
        return Response(b"{}", content_type="application/json")

    podgate = create_app(Settings(), watch=False)
    results = []
    for app in (nothing, podgate):
        client = app.test_client()
        for _ in range(200):
            client.post("/validate", data=body, content_type="application/json")
        started = time.process_time()
        for _ in range(n):
            client.post("/validate", data=body, content_type="application/json")
        results.append((time.process_time() - started) / n * 1e6)
    return results[0], results[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_process(
    port: int, ca: str, method: str, path: str, body: bytes, threads: int, seconds: float, out: Any
) -> None:
    """`threads` keep-alive connections, each sending requests back to back; returns latencies (s)."""
    context = ssl.create_default_context(cafile=ca)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"} if body else {}

    def run() -> None:
        nonlocal errors
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            connection.request(method, path, body=body or None, headers=headers)
            reply = connection.getresponse()
            reply.read()
            mine.append(time.perf_counter() - started)
            bad += reply.status != 200
        connection.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((latencies, errors))


def load(
    port: int, ca: str, method: str, path: str, body: bytes, connections: int, seconds: float
) -> dict[str, float]:
    processes = 2 if connections >= 2 else 1  # the client's GIL must not be the bottleneck
    per = [connections // processes + (i < connections % processes) for i in range(processes)]
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client_process, args=(port, ca, method, path, body, n, seconds, queue))
        for n in per
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per round (two rounds per endpoint)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--new-connections", type=int, default=300)
    parser.add_argument("--serve-baseline", nargs=3, metavar=("PORT", "CERT", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        port_, cert_, key_ = args.serve_baseline
        serve_baseline(int(port_), cert_, key_, args.workers)
        return 0

    work = Path(tempfile.mkdtemp(prefix="podgate-bench-"))
    certs = write_certificates(work, dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODGATE_", "PROMETHEUS_"))}
    env["KUBECONFIG"] = str(work / "none")
    command = [
        sys.executable,
        "-m",
        "webhook",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
    ]
    command += ["--cert", str(certs.cert), "--key", str(certs.key)]
    base_port = free_port()
    base_command = [
        sys.executable,
        __file__,
        "--workers",
        str(args.workers),
        "--serve-baseline",
        str(base_port),
    ]
    base_command += [str(certs.cert), str(certs.key)]
    with open(work / "err.log", "wb") as err:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        baseline = subprocess.Popen(base_command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        context = ssl.create_default_context(cafile=str(certs.ca_cert))
        for p, path in ((port, "/readyz"), (base_port, "/validate")):
            for _ in range(300):
                try:
                    c = http.client.HTTPSConnection("localhost", p, context=context, timeout=2)
                    c.request("GET" if path == "/readyz" else "POST", path, body=b"{}")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
        workers = [int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        base_workers = [
            int(p) for p in Path(f"/proc/{baseline.pid}/task/{baseline.pid}/children").read_text().split()
        ]
        review = json.loads(SAMPLE_REVIEW)
        body = json.dumps(review).encode()
        ca = str(certs.ca_cert)
        # Warm up both servers on every worker.
        load(port, ca, "POST", "/validate", body, args.connections, 1.0)
        load(base_port, ca, "POST", "/validate", body, args.connections, 1.0)

        rounds: dict[str, list[dict[str, float]]] = {"baseline": [], "validate": [], "healthz": []}
        for _ in range(2):  # alternate, so that the machine's noise hits each alike
            for name, target, method, path, data in (
                ("baseline", base_port, "POST", "/validate", body),
                ("validate", port, "POST", "/validate", body),
                ("healthz", port, "GET", "/healthz", b""),
            ):
                rounds[name].append(load(target, ca, method, path, data, args.connections, args.seconds))

        # Server CPU per new TLS connection (one request each, Connection: close).
        before = cpu_seconds(workers)
        for _ in range(args.new_connections):
            c = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
            c.request("GET", "/healthz", headers={"Connection": "close"})
            c.getresponse().read()
            c.close()
        per_connection_ms = (cpu_seconds(workers) - before) / args.new_connections * 1000
        # What gunicorn's default adds: a context built (key and chain loaded) for every connection.
        started = time.process_time()
        for _ in range(100):
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(certs.cert), str(certs.key))
        build_ms = (time.process_time() - started) / 100 * 1000
        rss = [rss_mb(pid) for pid in workers]
        base_rss = [rss_mb(pid) for pid in base_workers]
    finally:
        for process in (server, baseline):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

    def merged(name: str) -> dict[str, float]:
        rs = rounds[name]
        return {
            "rps": sum(r["rps"] for r in rs) / len(rs),
            "p50": sum(r["p50"] for r in rs) / len(rs),
            "p99": max(r["p99"] for r in rs),
            "errors": sum(r["errors"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
        }

    cpu_nothing, cpu_podgate = in_process_cpu(body)
    base, val, health = merged("baseline"), merged("validate"), merged("healthz")
    print(
        f"podgate webhook bench: {args.workers} workers x 4 threads, "
        f"{args.connections} keep-alive TLS connections, "
        f"2 x {args.seconds:.0f} s per endpoint, {os.cpu_count()} cores (client and server share them)"
    )
    print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}")
    rows = (("do-nothing app POST", base), ("podgate POST /validate", val), ("podgate GET /healthz", health))
    for name, r in rows:
        print(
            f"{name:24}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['requests']:>10.0f}{r['errors']:>8.0f}"
        )
    print(
        f"in-process CPU per POST /validate (WSGI, no sockets): do-nothing {cpu_nothing:.0f} µs, "
        f"podgate {cpu_podgate:.0f} µs, ratio {cpu_nothing / cpu_podgate:.2f}"
    )
    print(f"ratio /validate / baseline: {val['rps'] / base['rps']:.2f} (target >= 0.85)")
    print(f"p99 /validate: {val['p99']:.2f} ms (target <= 10 ms)")
    print(
        f"server CPU per new TLS connection (handshake + 1 request): {per_connection_ms:.2f} ms"
        " (target <= 1 ms)"
    )
    print(f"building a TLS context per connection (gunicorn's default) would add: {build_ms:.2f} ms CPU each")
    print(
        "RSS per worker: "
        + ", ".join(f"{r:.1f} MB" for r in rss)
        + " (target <= 80 MB); do-nothing app: "
        + ", ".join(f"{r:.1f} MB" for r in base_rss)
    )
    return 0 if base["errors"] == 0 and val["errors"] == 0 and health["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
