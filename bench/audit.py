"""Audit throughput and peak memory over large dumps, against the cost of just parsing them.

    .venv/bin/python bench/audit.py                 # 1,000 and 10,000 pods, JSON and YAML, 3 runs each
    .venv/bin/python bench/audit.py --sizes 50000 --runs 1
    .venv/bin/python bench/audit.py --sizes 10000 --runs 1 --formats json sarif junit policyreport text

Generates `kubectl get pods -A -o json|yaml`-shaped List dumps (realistic pods: labels, annotations,
owner references, two containers with resources, env, probes and volume mounts, status), then measures,
each in a fresh process so peak memory is that of the measurement alone:

  load      json.load / yaml.load (PyYAML's C loader, strict): what a naive tool pays to parse the dump
  stream    podgate's streaming reader alone (JSON: the C scanner per item; YAML: the C parser's events):
            items built one by one, duplicate keys refused, no judging
  serial    `podgate audit --jobs 1 -o json` end to end: stream, judge, fold, render, in one process
  audit     `podgate audit -o json` end to end with the default --jobs (one worker per core)

Reports pods/s (median of the runs), peak memory (max over the runs), the audit's time relative to each
baseline, and how time and memory grow from the smallest to the largest size (flat memory = streaming).

Memory of a run with workers is reported two ways, both over the main process AND its workers:
  PSS       peak of the summed proportional set size, sampled every 25 ms from /proc/PID/smaps_rollup:
            pages shared between the processes (the interpreter, the policy set) are counted once in
            total — what the machine actually spends. This is the figure held against the target.
  RSS sum   the main process's peak RSS + (workers x the largest worker's peak RSS): an upper bound
            that counts every shared page once per process.
For one process the two agree closely (PSS is the sampled RSS minus shared libraries' shares).
The issue's targets: >= 2,000 pods/s and <= 150 MB peak memory for 10,000 pods with the full library.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("load", "stream", "serial", "audit")


def make_pod(i: int) -> dict[str, Any]:
    namespace = f"team-{i % 40}"
    app = f"svc-{i % 250}"
    root = i % 3 == 0  # a third run as root (no runAsNonRoot): they fail no-root
    security = {"runAsNonRoot": True, "runAsUser": 1000 + i % 50} if not root else {}
    container = {
        "name": app,
        "image": f"registry.example.com/{namespace}/{app}:1.{i % 17}.{i % 5}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 10,
        },
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    sidecar = {
        "name": "proxy",
        "image": "docker.io/envoyproxy/envoy:v1.31.0",
        "args": ["--config-path", "/etc/envoy/envoy.yaml"],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{app}-7d9f8c6b5-{i:05d}",
            "namespace": namespace,
            "uid": f"6f1c7a4e-0000-4000-8000-{i:012d}",
            "resourceVersion": str(100000 + i),
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "labels": {"app": app, "pod-template-hash": "7d9f8c6b5", "team": namespace},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-7d9f8c6b5",
                    "uid": f"rs-{i % 250}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [container, sidecar],
            "securityContext": security,
            "serviceAccountName": app,
            "volumes": [{"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}}],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "nodeName": f"node-{i % 30}",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.{i % 250}.{i // 250 % 250}.{i % 200 + 1}",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-30T10:00:05Z"}],
            "containerStatuses": [{"name": app, "ready": True, "image": container["image"]}],
        },
    }


def write_dumps(directory: Path, size: int) -> dict[str, Path]:
    import yaml

    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [make_pod(i) for i in range(size)],
    }
    paths = {"json": directory / f"pods-{size}.json", "yaml": directory / f"pods-{size}.yaml"}
    paths["json"].write_text(json.dumps(listing, indent=4))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with open(paths["yaml"], "w") as f:
        yaml.dump(listing, f, Dumper=dumper, sort_keys=False)
    return paths


# --- the measurements, each run in a child process -------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM): unlike ru_maxrss, not inherited from the parent across exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, fmt: str, path: str, policies: str, output: str) -> None:
    # Imports and the policy set load are start-up, timed apart: the rate is the per-pod cost.
    import yaml

    from webhook.audit.parallel import default_jobs
    from webhook.audit.stream import read_sources
    from webhook.cli import main
    from webhook.policy import load_policies
    from webhook.policy.yamlio import StrictLoader

    started = time.perf_counter()
    if mode in ("audit", "serial"):
        load_policies(policies)  # warms the same imports `podgate audit` makes; measured as start-up
    startup = time.perf_counter() - started
    jobs = 1 if mode == "serial" else default_jobs()
    start = time.perf_counter()
    if mode == "load":
        if fmt == "json":
            with open(path, "rb") as f:
                json.load(f)
        else:
            with open(path, encoding="utf-8") as f:
                yaml.load(f, Loader=StrictLoader)
    elif mode == "stream":
        sum(1 for _ in read_sources([path]))
    else:
        argv = ["audit", "-p", policies, "-o", output, "--output-file", os.devnull, "--fail-on", "never"]
        code = main([*argv, "--jobs", str(jobs), path])
        assert code == 0
    elapsed = time.perf_counter() - start
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # 0: none started
    data = {"seconds": elapsed, "startup": startup, "rss_mb": peak_rss_mb(), "workers_rss_mb": workers_peak}
    print(json.dumps({**data, "jobs": jobs if workers_peak else 1}))


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass  # exited between the listing and the read
    return 0


def _family(pid: int) -> list[int]:
    """`pid` and its descendants (the audit's workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as f:
                queue += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def run_sampled(argv: list[str]) -> tuple[str, float]:
    """Run `argv`; return its stdout and the peak of its family's summed PSS (MB), sampled every 25 ms."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, sum(_pss_kb(pid) for pid in _family(process.pid)))
            time.sleep(0.025)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.returncode:
            raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr}")
        out.seek(0)
        return out.read().decode(), peak / 1024


def measure(
    mode: str, fmt: str, path: Path, policies: str, runs: int, output: str = "json"
) -> dict[str, float]:
    seconds, rss, pss, startup, jobs = [], [], [], [], []
    for _ in range(runs):
        argv = [sys.executable, __file__, "--child", mode, fmt, str(path), policies, output]
        out, peak_pss = run_sampled(argv)
        data = json.loads(out.strip().splitlines()[-1])
        seconds.append(data["seconds"])
        startup.append(data["startup"])
        workers = data["jobs"] if data["workers_rss_mb"] else 0
        rss.append(data["rss_mb"] + workers * data["workers_rss_mb"])
        pss.append(peak_pss)
        jobs.append(data["jobs"])
    return {
        "seconds": statistics.median(seconds),
        "rss_mb": max(rss),
        "pss_mb": max(pss),
        "startup": statistics.median(startup),
        "jobs": max(jobs),
    }


def idle_rss(policies: str) -> float:
    """Peak RSS of a process that imports the audit and loads the policies, and judges nothing."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); from audit import peak_rss_mb;"
        "import webhook.cli.audit, webhook.audit.run, webhook.audit.stream, yaml;"
        f"from webhook.policy import load_policies; load_policies({policies!r});"
        "print(peak_rss_mb())"
    )
    return float(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
    )


def _load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--policies", default=str(ROOT / "policies"), help="default: the full shipped library"
    )
    parser.add_argument("--dumps", nargs="+", default=["json", "yaml"], choices=["json", "yaml"])
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["json"],
        help="report formats: the first is measured against the baselines, the others by `audit` alone",
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    version = sys.version.split()[0]
    print(f"python {version}, {os.cpu_count()} cores; policies: {args.policies}; median of {args.runs} runs")
    print(f"load average at start: {_load_average()}")
    print(f"idle process (imports + policy set loaded): {idle_rss(args.policies):.0f} MB peak RSS")
    print("memory: PSS = peak summed PSS of main + workers (sampled); RSS = sum of peak RSS (upper bound)\n")
    rows: dict[tuple[str, int], dict[str, dict[str, float]]] = {}
    first = args.formats[0]
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            dumps = {k: v for k, v in write_dumps(Path(tmp), size).items() if k in args.dumps}
            for fmt, path in dumps.items():
                mb = path.stat().st_size / 1e6
                rows[fmt, size] = {m: measure(m, fmt, path, args.policies, args.runs, first) for m in MODES}
                r = rows[fmt, size]
                print(f"{fmt.upper()} {size:,} pods ({mb:.1f} MB dump), -o {first}")
                for m in MODES:
                    rate = size / r[m]["seconds"]
                    took, rss, pss = r[m]["seconds"], r[m]["rss_mb"], r[m]["pss_mb"]
                    jobs = f"  (jobs {r[m]['jobs']:.0f})" if m == "audit" else ""
                    memory = f"PSS {pss:5.0f} MB  RSS {rss:5.0f} MB"
                    print(f"  {m:<7} {took:7.2f} s  {rate:9,.0f} pods/s  {memory}{jobs}")
                print(
                    f"  audit / load: time x{r['audit']['seconds'] / r['load']['seconds']:.2f},"
                    f" memory (PSS) x{r['audit']['pss_mb'] / r['load']['pss_mb']:.2f};"
                    f" audit / stream: time x{r['audit']['seconds'] / r['stream']['seconds']:.2f};"
                    f" audit / serial: time x{r['audit']['seconds'] / r['serial']['seconds']:.2f}"
                )
                for output in args.formats[1:]:
                    o = measure("audit", fmt, path, args.policies, args.runs, output)
                    print(
                        f"  -o {output:<12} {o['seconds']:7.2f} s  {size / o['seconds']:9,.0f} pods/s"
                        f"  PSS {o['pss_mb']:5.0f} MB  RSS {o['rss_mb']:5.0f} MB"
                    )
            print()
    small, large = min(args.sizes), max(args.sizes)
    if small != large:
        print(f"Growth from {small:,} to {large:,} pods (x{large / small:.0f} pods):")
        for fmt in args.dumps:
            for m in ("load", "serial", "audit"):
                a, b = rows[fmt, small][m], rows[fmt, large][m]
                grow_time, grow_pss = b["seconds"] / a["seconds"], b["pss_mb"] / a["pss_mb"]
                print(f"  {fmt} {m:<6} time x{grow_time:.1f}, peak PSS x{grow_pss:.2f}", end="")
                print(f" ({a['pss_mb']:.0f} -> {b['pss_mb']:.0f} MB)")
    print(f"\nload average at end: {_load_average()}")
    print("Targets (issue 5), 10,000 pods: >= 2,000 pods/s, <= 150 MB peak memory (PSS, main + workers)")
    for fmt in args.dumps:
        if (fmt, large) in rows:
            for m in ("serial", "audit"):
                r = rows[fmt, large][m]
                rate = large / r["seconds"]
                verdict = "met" if rate >= 2000 and r["pss_mb"] <= 150 else "NOT met"
                print(f"  {fmt} {m}: {rate:,.0f} pods/s, {r['pss_mb']:.0f} MB PSS -> {verdict}")


if __name__ == "__main__":
    main()
