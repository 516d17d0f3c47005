"""Faults under load: the real webhook (gunicorn over TLS on 127.0.0.1) loaded while things go wrong.

    .venv/bin/python bench/faults.py [--seconds 60] [--connections 8] [--workers 2]

Every scenario starts its own server (`podgate serve`, the shipped policies copied to a scratch
directory, a CA and serving certificate made for the run), loads POST /validate with the sample
AdmissionReview (a Pod denied by no-root) over keep-alive TLS connections that verify the CA, and
stops by itself. Every answer is checked: HTTP 200, the request's uid, and the expected denial.

1. max: closed-loop throughput (each connection sends back to back) -> the maximum req/s.
2. sustained: `--seconds` at 70 % of that maximum, paced; zero errors; RSS of master + workers
   sampled throughout (start, end, peak).
3. sigkill: a worker killed with SIGKILL under load: only the requests on its connections fail
   (at most one per connection), the master starts a new worker, later requests all succeed.
4. sigterm: SIGTERM to the master under load once slow (thousands of containers) requests are in a
   worker's hands (its `100 Continue` says so): they and every request started before the signal
   complete with 200.
5. cert-rotation: key and certificate replaced on disk under load (keep-alive connections and new
   handshakes trusting both CAs): no failed request, new handshakes get the new certificate.
6. broken-policy: a broken policy file dropped into the policy directory under load: no failed
   request, the decisions stay those of the last good set, /readyz reports the failure.
7. pathological: thousands of containers, very long strings, under load: answered (200, a
   well-formed decision) within the evaluation deadline; the background load sees no error.

The client runs in this process (threads, http.client); on this 2-core machine it shares the CPU with
the server, so "maximum" means "maximum with this client on this machine", and 70 % of it is paced.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.certs import CertFiles, write_certificates  # noqa: E402
from webhook.cli.serve import SAMPLE_REVIEW  # noqa: E402

SHIPPED = ROOT / "policies"
DEADLINE_MS = 2000  # the server's default evaluation deadline
# The deadline bounds evaluation; reading a 3 MiB body and encoding the answer come on top of it.
ANSWER_MARGIN_MS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_review(uid: str = "705ab4f5-6393-11e8-b7cc-42010a800002") -> dict[str, Any]:
    review: dict[str, Any] = json.loads(SAMPLE_REVIEW)
    review["request"]["uid"] = uid
    return review


# --- the server -----------------------------------------------------------------------------------


class Server:
    """`podgate serve` in a subprocess over TLS; its own copy of the shipped policies."""

    def __init__(self, work: Path, *, workers: int = 2, reload_interval: float = 0.5) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.policies = work / "policies"
        shutil.copytree(SHIPPED, self.policies, ignore=shutil.ignore_patterns("tests"))
        self.certs: CertFiles = write_certificates(
            work / "certs", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
        )
        self.ca_bundle = work / "trusted-cas.pem"  # the client trusts this file; rotation appends a CA
        self.ca_bundle.write_bytes(self.certs.ca_cert.read_bytes())
        self.port = free_port()
        self.workers = workers
        self.stdout_path, self.stderr_path = work / "stdout.log", work / "stderr.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PODGATE_", "PROMETHEUS_"))}
        env.update(KUBECONFIG=str(work / "no-kubeconfig"), PODGATE_RELOAD_INTERVAL=str(reload_interval))
        command = [sys.executable, "-m", "webhook", "serve", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--cert", str(self.certs.cert), "--key", str(self.certs.key)]
        command += ["--workers", str(workers), "--policies", str(self.policies)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        self._wait_ready()

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def get_json(self, path: str, cafile: Path | None = None) -> Any:
        context = ssl.create_default_context(cafile=str(cafile or self.ca_bundle))
        connection = http.client.HTTPSConnection("localhost", self.port, context=context, timeout=5)
        try:
            connection.request("GET", path)
            reply = connection.getresponse()
            return json.loads(reply.read())
        finally:
            connection.close()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.stderr()}")
            try:
                if self.get_json("/readyz").get("ready") and len(self.worker_pids()) == self.workers:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout} s: {self.stderr()}")

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def rss_mb(self) -> float:
        """RSS of the master and its workers."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:  # a worker exiting between the listing and the read
                pass
        return total / 1024

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def running_server(work: Path, **kwargs: Any) -> Iterator[Server]:
    server = Server(work, **kwargs)
    try:
        yield server
    finally:
        server.stop()


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    started: float
    ended: float
    connection: int
    problem: str  # "" when the answer was the expected one


@dataclass
class Load:
    """`connections` keep-alive TLS connections posting `body`; paced at `rate` req/s in all, or
    back to back when `rate` is None. A failed connection is replaced by a new one."""

    server: Server
    connections: int
    rate: float | None
    body: bytes = field(default_factory=lambda: json.dumps(sample_review()).encode())
    expect_allowed: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(self.connections)]
        self._uid = json.loads(self.body)["request"]["uid"]

    def start(self) -> Load:
        self.began = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for t in self._threads:
            t.join()
        self.ended = time.monotonic()
        return self.outcomes

    def _connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "localhost", self.server.port, context=self.server.context(), timeout=15
        )

    def _run(self, index: int) -> None:
        interval = self.connections / self.rate if self.rate else 0.0
        next_at = time.monotonic() + (interval * index / self.connections)
        connection: http.client.HTTPSConnection | None = None
        mine: list[Outcome] = []
        headers = {"Content-Type": "application/json"}
        while not self._stop.is_set():
            if interval:
                now = time.monotonic()
                next_at = max(next_at, now - interval)  # after a stall, no burst to catch up
                if next_at > now and self._stop.wait(next_at - now):
                    break
                next_at += interval
            if connection is None:
                connection = self._connect()
            started = time.monotonic()
            problem = ""
            try:
                connection.request("POST", "/validate", body=self.body, headers=headers)
                reply = connection.getresponse()
                data = reply.read()
                problem = self._judge(reply.status, data)
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                connection.close()
                connection = None
            mine.append(Outcome(started, time.monotonic(), index, problem))
        if connection is not None:
            connection.close()
        with self._lock:
            self.outcomes.extend(mine)

    def _judge(self, status: int, data: bytes) -> str:
        if status != 200:
            return f"HTTP {status}: {data[:200]!r}"
        response = json.loads(data).get("response", {})
        if response.get("uid") != self._uid:
            return f"wrong uid {response.get('uid')!r}"
        if response.get("allowed") is not self.expect_allowed:
            return f"allowed={response.get('allowed')!r}, expected {self.expect_allowed}"
        return ""


def failures(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.problem]


def latency_ms(outcomes: Sequence[Outcome], quantile: float) -> float:
    times = sorted(o.ended - o.started for o in outcomes if not o.problem)
    return times[min(len(times) - 1, int(len(times) * quantile))] * 1000 if times else float("nan")


def rps(outcomes: Sequence[Outcome], seconds: float) -> float:
    return sum(1 for o in outcomes if not o.problem) / seconds


def eventually(condition: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (OSError, ValueError):
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# --- scenarios: each returns its figures and the list of broken promises ---------------------------

Result = tuple[dict[str, Any], list[str]]


def measure_max(server: Server, connections: int, seconds: float) -> Result:
    warm = Load(server, connections, None).start()
    time.sleep(min(1.0, seconds / 2))
    warm.stop()
    load = Load(server, connections, None).start()
    time.sleep(seconds)
    outcomes = load.stop()
    elapsed = load.ended - load.began
    bad = failures(outcomes)
    figures = {"max_rps": rps(outcomes, elapsed), "p50_ms": latency_ms(outcomes, 0.5), "errors": len(bad)}
    return figures, [f"max run: {len(bad)} failed requests, first {bad[0].problem}"] if bad else []


def sustained(
    server: Server, connections: int, rate: float, seconds: float, min_achieved: float = 0.9
) -> Result:
    samples = [server.rss_mb()]
    load = Load(server, connections, rate).start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        samples.append(server.rss_mb())
    outcomes = load.stop()
    samples.append(server.rss_mb())
    elapsed = load.ended - load.began
    bad = failures(outcomes)
    figures = {
        "target_rps": rate,
        "achieved_rps": rps(outcomes, elapsed),
        "requests": len(outcomes),
        "errors": len(bad),
        "p50_ms": latency_ms(outcomes, 0.5),
        "p99_ms": latency_ms(outcomes, 0.99),
        "rss_start_mb": samples[0],
        "rss_end_mb": samples[-1],
        "rss_peak_mb": max(samples),
    }
    problems = [f"{len(bad)} failed requests, first: {bad[0].problem}"] if bad else []
    if figures["achieved_rps"] < min_achieved * rate:
        problems.append(f"achieved {figures['achieved_rps']:.0f} req/s of the {rate:.0f} asked")
    # Flat: the end is within 10 % (and 8 MB) of the start; a leak per request would grow with the run.
    if samples[-1] > samples[0] * 1.10 + 8:
        problems.append(f"RSS grew from {samples[0]:.1f} MB to {samples[-1]:.1f} MB")
    return figures, problems


def sigkill_worker(server: Server, connections: int, rate: float, seconds: float) -> Result:
    load = Load(server, connections, rate).start()
    time.sleep(seconds / 3)
    before = server.worker_pids()
    victim = before[0]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = eventually(
        lambda: (pids := server.worker_pids()) and victim not in pids and len(pids) == len(before) and pids
    )
    replaced_at = time.monotonic()
    time.sleep(seconds * 2 / 3)
    outcomes = load.stop()
    bad = failures(outcomes)
    in_flight = [o for o in outcomes if o.started < killed_at < o.ended]
    late = [o for o in bad if o.started > replaced_at + 1.0]
    per_connection = {o.connection: 0 for o in bad}
    for o in bad:
        per_connection[o.connection] += 1
    figures = {
        "requests": len(outcomes),
        "in_flight_at_kill": len(in_flight),
        "failed": len(bad),
        "failed_in_flight": sum(1 for o in in_flight if o.problem),
        "new_worker_after_s": replaced_at - killed_at,
        "ok_after_replacement": sum(1 for o in outcomes if o.started > replaced_at and not o.problem),
    }
    problems = []
    if not replaced:
        problems.append("no new worker replaced the killed one")
    if max(per_connection.values(), default=0) > 1:
        problems.append(f"a connection lost more than one request: {per_connection}")
    if late:
        problems.append(f"{len(late)} failures after the new worker was up: {late[0].problem}")
    if figures["ok_after_replacement"] == 0:
        problems.append("no request succeeded after the replacement")
    return figures, problems


def pathological_review(containers: int = 0, long_string: int = 0, uid: str = "") -> dict[str, Any]:
    review = sample_review(uid or f"00000000-0000-4000-8000-{containers:06d}{long_string % 1000000:06d}")
    pod = review["request"]["object"]
    template = pod["spec"]["containers"][0]
    if containers:
        pod["spec"]["containers"] = [
            {**template, "name": f"c{i}", "env": [{"name": "N", "value": str(i)}]} for i in range(containers)
        ]
    if long_string:
        long = "x" * long_string
        pod["metadata"].setdefault("labels", {})["long"] = long
        pod["metadata"]["annotations"] = {"example.com/long": long}
        pod["spec"]["containers"][0]["image"] = "registry.example.com/" + "a" * long_string + ":1"
        pod["spec"]["containers"][0]["command"] = [long, long]
    return review


def post_once(server: Server, review: dict[str, Any], timeout: float = 15) -> tuple[int, Any, float]:
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.context(), timeout=timeout
    )
    try:
        started = time.monotonic()
        connection.request(
            "POST",
            "/validate",
            body=json.dumps(review).encode(),
            headers={"Content-Type": "application/json"},
        )
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, json.loads(data), time.monotonic() - started
    finally:
        connection.close()


def post_in_flight(
    server: Server, review: dict[str, Any], in_flight: threading.Event, timeout: float = 30
) -> tuple[int, Any]:
    """POST `review` with `Expect: 100-continue`; set `in_flight` once the server took it; the answer.

    gunicorn sends `100 Continue` from the worker thread that handles the request, so after it the
    request is the server's to finish: a sleep could not tell that apart from one still waiting in the
    listen backlog, which a closing listener resets (on a busy machine that is a flaky test).
    """
    body = json.dumps(review).encode()
    context = server.context()
    connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=timeout)
    try:
        connection.putrequest("POST", "/validate")
        for name, value in (
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Expect", "100-continue"),
        ):
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.sock is not None
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):  # the server sends nothing more before the body
            chunk = connection.sock.recv(64 - len(interim))
            if not chunk:
                raise ConnectionError(f"closed before 100 Continue: {interim!r}")
            interim += chunk
        if not interim.startswith(b"HTTP/1.1 100 "):
            raise http.client.HTTPException(f"expected 100 Continue, got {interim!r}")
        connection.send(body)
        in_flight.set()
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        in_flight.set()  # also on failure: the scenario must not wait for it
        connection.close()


def sigterm_under_load(server: Server, connections: int, rate: float, containers: int) -> Result:
    load = Load(server, connections, rate).start()
    time.sleep(1.0)
    slow_results: list[tuple[float, Any]] = []
    taken = [threading.Event() for _ in range(2)]

    def slow_call(i: int) -> None:
        started = time.monotonic()
        try:
            review = pathological_review(containers, uid=f"slow-{i}")
            status, body = post_in_flight(server, review, taken[i])
            slow_results.append((started, (status, body.get("response", {}).get("allowed"))))
        except (OSError, http.client.HTTPException) as exc:
            slow_results.append((started, repr(exc)))

    slow = [threading.Thread(target=slow_call, args=(i,)) for i in range(2)]
    for t in slow:
        t.start()
    for event in taken:  # both slow requests are in a worker's hands (or failed) now
        event.wait(timeout=30)
    signalled_at = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=40)
    for t in slow:
        t.join()
    outcomes = load.stop()
    started_before = [o for o in outcomes if o.started < signalled_at]
    lost = [o for o in started_before if o.problem]
    figures = {
        "requests_before_signal": len(started_before),
        "failed_before_signal": len(lost),
        "slow_requests": [r for _, r in slow_results],
        "exit_code": code,
        "refused_after_signal": sum(1 for o in outcomes if o.started >= signalled_at and o.problem),
    }
    problems = []
    if lost:
        problems.append(f"{len(lost)} requests started before SIGTERM failed, first: {lost[0].problem}")
    if [r for _, r in slow_results] != [(200, False)] * len(slow):
        problems.append(f"slow in-flight requests did not complete with a denial: {slow_results}")
    if code != 0:
        problems.append(f"server exited {code}")
    return figures, problems


def cert_rotation(server: Server, connections: int, rate: float, seconds: float) -> Result:
    work = server.work
    new = write_certificates(work / "new-certs", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    server.ca_bundle.write_bytes(server.certs.ca_cert.read_bytes() + new.ca_cert.read_bytes())
    load = Load(server, connections, rate).start()
    handshakes: list[str] = []
    stop = threading.Event()

    def new_connections() -> None:  # fresh handshakes throughout, trusting both CAs
        while not stop.is_set():
            try:
                server.get_json("/healthz")
                handshakes.append("")
            except (OSError, ValueError) as exc:
                handshakes.append(repr(exc))
            time.sleep(0.02)

    churn = threading.Thread(target=new_connections)
    churn.start()
    time.sleep(seconds / 3)
    staged = work / "staged"
    shutil.copytree(work / "new-certs", staged)
    os.replace(staged / "tls.key", server.certs.key)  # the key and the certificate at once, as a Secret
    os.replace(staged / "tls.crt", server.certs.cert)
    rotated_at = time.monotonic()
    served_new = eventually(lambda: server.get_json("/healthz", cafile=new.ca_cert))
    seen_after = time.monotonic() - rotated_at
    time.sleep(seconds * 2 / 3)
    stop.set()
    churn.join()
    outcomes = load.stop()
    bad = failures(outcomes)
    bad_handshakes = [h for h in handshakes if h]
    figures = {
        "requests": len(outcomes),
        "failed": len(bad),
        "new_handshakes": len(handshakes),
        "failed_handshakes": len(bad_handshakes),
        "new_certificate_served_after_s": seen_after,
    }
    problems = []
    if bad:
        problems.append(f"{len(bad)} failed requests, first: {bad[0].problem}")
    if bad_handshakes:
        problems.append(f"{len(bad_handshakes)} failed handshakes, first: {bad_handshakes[0]}")
    if not served_new:
        problems.append("the new certificate was never served")
    return figures, problems


def broken_policy(server: Server, connections: int, rate: float, seconds: float) -> Result:
    good = server.get_json("/readyz")["policies"]
    load = Load(server, connections, rate).start()
    time.sleep(seconds / 3)
    broken = server.policies / "zz-broken.yaml"
    broken.write_text(
        "apiVersion: podgate.io/v1alpha1\nkind: Policy\nmetadata: {name: broken}\nspec: [not, a, map\n"
    )
    dropped_at = time.monotonic()

    # /readyz may already be degraded for another reason (no cluster for the held-pod cache): wait for
    # the entry that names the broken file.
    def names_the_broken_file() -> dict[str, Any] | None:
        readyz = server.get_json("/readyz")
        return readyz if any("zz-broken.yaml" in d for d in readyz["degraded"]) else None

    readyz = eventually(names_the_broken_file)
    seen_after = time.monotonic() - dropped_at
    time.sleep(seconds * 2 / 3)
    outcomes = load.stop()
    bad = failures(outcomes)
    figures = {
        "requests": len(outcomes),
        "failed": len(bad),
        "failure_reported_after_s": seen_after,
        "degraded": (readyz or {}).get("degraded"),
    }
    problems = []
    if bad:
        problems.append(f"{len(bad)} failed or changed decisions, first: {bad[0].problem}")
    if not readyz or readyz["policies"] != good or not readyz["ready"]:
        problems.append(f"/readyz after the broken file: {readyz}")
    elif not any("zz-broken.yaml" in d for d in readyz["degraded"]):
        problems.append(f"the failure does not name the file: {readyz['degraded']}")
    return figures, problems


def pathological(server: Server, connections: int, rate: float, containers: int, long_string: int) -> Result:
    load = Load(server, connections, rate).start()
    time.sleep(0.5)
    figures: dict[str, Any] = {}
    problems = []
    cases = {
        f"{containers} containers": pathological_review(containers=containers),
        f"strings of {long_string} characters": pathological_review(long_string=long_string),
    }
    for name, review in cases.items():
        size = len(json.dumps(review))
        status, body, elapsed = post_once(server, review)
        response = body.get("response", {}) if isinstance(body, dict) else {}
        figures[name] = {
            "body_bytes": size,
            "status": status,
            "ms": elapsed * 1000,
            "allowed": response.get("allowed"),
        }
        if (
            status != 200
            or response.get("uid") != review["request"]["uid"]
            or response.get("allowed") is not False
        ):
            problems.append(f"{name}: not a well-formed denial: {status} {str(body)[:300]}")
        if elapsed * 1000 > DEADLINE_MS + ANSWER_MARGIN_MS:
            problems.append(
                f"{name}: answered in {elapsed * 1000:.0f} ms, past the {DEADLINE_MS} ms deadline"
                f" + {ANSWER_MARGIN_MS} ms to read the request and write the answer"
            )
    time.sleep(0.5)
    outcomes = load.stop()
    bad = failures(outcomes)
    figures["background_requests"] = len(outcomes)
    figures["background_failed"] = len(bad)
    if bad:
        problems.append(f"{len(bad)} background requests failed, first: {bad[0].problem}")
    return figures, problems


# --- the command ----------------------------------------------------------------------------------


def run_all(
    args: argparse.Namespace, work: Path, report: Callable[[str, dict[str, Any], list[str]], None]
) -> int:
    failed = 0

    def record(name: str, result: Result) -> None:
        nonlocal failed
        figures, problems = result
        failed += bool(problems)
        report(name, figures, problems)

    with running_server(work / "sustained", workers=args.workers) as server:
        figures, problems = measure_max(server, args.connections, args.max_seconds)
        record("max", (figures, problems))
        rate = figures["max_rps"] * args.load_fraction
        record("sustained", sustained(server, args.connections, rate, args.seconds))
    scenario_seconds = args.fault_seconds
    with running_server(work / "sigkill", workers=args.workers) as server:
        record("sigkill", sigkill_worker(server, args.connections, rate, scenario_seconds))
    server = Server(work / "sigterm", workers=args.workers)
    try:
        record("sigterm", sigterm_under_load(server, args.connections, rate, args.containers))
    finally:
        server.stop()
    with running_server(work / "cert-rotation", workers=args.workers) as server:
        record("cert-rotation", cert_rotation(server, args.connections, rate, scenario_seconds))
    with running_server(work / "broken-policy", workers=args.workers) as server:
        record("broken-policy", broken_policy(server, args.connections, rate, scenario_seconds))
    with running_server(work / "pathological", workers=args.workers) as server:
        record(
            "pathological", pathological(server, args.connections, rate, args.containers, args.long_string)
        )
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained load duration")
    parser.add_argument(
        "--max-seconds", type=float, default=8.0, help="closed-loop run measuring the maximum"
    )
    parser.add_argument("--fault-seconds", type=float, default=9.0, help="load around each fault")
    parser.add_argument(
        "--load-fraction", type=float, default=0.7, help="of the maximum, for every paced load"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--containers", type=int, default=3000, help="containers in the pathological pod")
    parser.add_argument(
        "--long-string",
        type=int,
        default=500_000,
        help="characters per long string (five of them: the body stays under 3 MiB)",
    )
    args = parser.parse_args(argv)

    print(
        f"podgate faults under load: {args.workers} workers x 4 threads, {args.connections} keep-alive TLS "
        f"connections, {os.cpu_count()} cores shared by client and server, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )

    def report(name: str, figures: dict[str, Any], problems: list[str]) -> None:
        shown = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
        print(f"{name:14} {'FAIL' if problems else 'ok':4}  {shown}", flush=True)
        for problem in problems:
            print(f"{'':20}{problem}", flush=True)

    work = Path(tempfile.mkdtemp(prefix="podgate-faults-"))
    try:
        failed = run_all(args, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
