"""What the incident-response paths cost per request, against the pod-spec path measured in the same run.

    .venv/bin/python bench/bench_incident.py

Baseline: `evaluate` of a Pod CREATE (the shared kubectl-run sample) against policies/no-root.yaml.
Each figure is the best of several interleaved rounds (the machine is shared and noisy), with its
ratio to the baseline; under load the ratios still move by ±30%. For a repeatable figure, count
instructions: `valgrind --tool=callgrind` over N calls minus 0 calls (docs/incident-response.md).
Also: loading scan-verdicts with many reports, against loading no-root alone.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from incident_fixtures import RESPONDER, held_delete, held_metadata, incident_review, request_of, with_user  # noqa: E402

from webhook.inputs import review_request  # noqa: E402
from webhook.policy import evaluate, load_policies  # noqa: E402
from webhook.policy.sessions import session_record  # noqa: E402

SHARED = ROOT.parent / "shared" / "fixtures" / "admission"
POLICIES = ROOT / "policies"


def best_ns(fn: Callable[[], Any], number: int, rounds: int = 7) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / number)
    return best


def interleaved_best_ns(fns: list[Callable[[], Any]], number: int, rounds: int = 15) -> list[float]:
    """Best time per call of each function, measured in turns so that noise hits them all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter_ns()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter_ns() - start) / number)
    return best


def main() -> None:
    no_root = load_policies(POLICIES / "no-root.yaml")
    incident = load_policies(*(POLICIES / f"{n}.yaml" for n in ("no-root", "forensic-hold", "exec-control")))
    create = review_request(json.loads((SHARED / "pod-create-kubectl-run.json").read_text()))
    exec_held = request_of(incident_review("pod-connect-exec.json"), held_metadata())
    exec_free = request_of(with_user(incident_review("pod-connect-exec.json"), RESPONDER), {})
    delete_held = request_of(held_delete())
    update = review_request(json.loads((SHARED / "deployment-update-image.json").read_text()))

    decision = evaluate(incident, exec_held)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("CREATE pod, no-root (baseline)", lambda: evaluate(no_root, create)),
        ("CREATE pod, no-root + forensic-hold + exec-control", lambda: evaluate(incident, create)),
        ("UPDATE deployment, no-root", lambda: evaluate(no_root, update)),
        ("UPDATE deployment, + forensic-hold + exec-control", lambda: evaluate(incident, update)),
        ("CONNECT exec on a held pod (denied)", lambda: evaluate(incident, exec_held)),
        ("CONNECT exec by a responder (allowed)", lambda: evaluate(incident, exec_free)),
        ("DELETE of a held pod (denied)", lambda: evaluate(incident, delete_held)),
        ("session_record of that exec", lambda: session_record(exec_held, decision)),
    ]
    times = interleaved_best_ns([fn for _, fn in cases], 300)
    baseline = times[0]
    rows = [(name, ns) for (name, _), ns in zip(cases, times, strict=True)]
    print(f"{'request':58} {'µs/op':>8} {'vs baseline':>11}")
    for name, ns in rows:
        print(f"{name:58} {ns / 1000:8.1f} {ns / baseline:11.2f}")

    # Loading scan reports: N copies of the real-format Trivy and Grype samples, each under its own digest.
    scans = ROOT / "tests" / "fixtures" / "scans"
    trivy = json.loads((scans / "trivy-web-1.4.2.json").read_text())
    grype = json.loads((scans / "grype-api-2.0.1.json").read_text())
    load_baseline = best_ns(lambda: load_policies(POLICIES / "no-root.yaml"), 20, rounds=5)
    print(f"\n{'policy load':58} {'ms':>8} {'vs no-root load':>15}")
    print(f"{'no-root alone (baseline)':58} {load_baseline / 1e6:8.2f} {1.0:15.2f}")
    for count in (10, 100, 500):
        with tempfile.TemporaryDirectory() as tmp:
            reports = Path(tmp) / "reports"
            reports.mkdir()
            for i in range(count):
                digest = f"sha256:{i:064x}"
                trivy["Metadata"]["RepoDigests"] = [f"registry.example.com/shop/web@{digest}"]
                grype["source"]["target"]["repoDigests"] = [
                    f"registry.example.com/shop/api@sha256:{i + 10**6:064x}"
                ]
                (reports / f"trivy-{i}.json").write_text(json.dumps(trivy))
                (reports / f"grype-{i}.json").write_text(json.dumps(grype))
            policy = Path(tmp) / "scan.yaml"
            text = (
                (POLICIES / "scan-verdicts.yaml")
                .read_text()
                .replace("/etc/podgate/scan-reports", str(reports))
            )
            policy.write_text(text)
            ns = best_ns(lambda policy=policy: load_policies(policy), 3, rounds=3)
            print(
                f"{f'scan-verdicts with {2 * count} reports':58} {ns / 1e6:8.2f} {ns / load_baseline:15.2f}"
            )
            shutil.rmtree(reports)


if __name__ == "__main__":
    main()
