"""`podgate evaluate` on 1,000 kubectl-style pods from one YAML file and one JSON file.

    .venv/bin/python bench/engine.py [--pods 1000] [--repeat 5]

For each format it writes a `kubectl get pods -o yaml|json`-style List of N pods (status, tolerations,
projected service-account volumes, three containers), then measures, in this process and in the same
run (the machine is shared and noisy, so only ratios measured together mean much):

  parse     reading the file into objects with webhook.inputs (the floor: nothing is judged)
  evaluate  reading + judging every object against the shipped library (what `podgate evaluate` does)
  cli       the whole `podgate evaluate -o json FILE` command in a fresh process, start-up included

and prints pods/s and the ratio of each to the parse-only cost. The target is the cli figure for 1,000
YAML pods under 1.5 s. Best of `--repeat` runs for each (the least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.inputs import read_inputs  # noqa: E402
from webhook.policy import evaluate, load_policies  # noqa: E402


def kubectl_pod(i: int) -> dict[str, Any]:
    """A pod as `kubectl get pod -o yaml` prints it (a Deployment's pod, three containers)."""
    name = f"shop-web-7d9f8c6b5-{i:05d}"

    def container(cname: str, image: str, port: int) -> dict[str, Any]:
        return {
            "name": cname,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
            "env": [
                {
                    "name": "POD_NAME",
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
                },
                {"name": "LOG_LEVEL", "value": "info"},
            ],
            "resources": {
                "limits": {"cpu": "500m", "memory": "256Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": i % 10 != 0,  # one pod in ten is denied by no-root
            },
            "readinessProbe": {
                "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
                "periodSeconds": 10,
                "timeoutSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": "kube-api-access-x7k2p",
                    "readOnly": True,
                }
            ],
        }

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "creationTimestamp": "2026-11-30T10:15:42Z",
            "generateName": "shop-web-7d9f8c6b5-",
            "labels": {"app": "shop-web", "pod-template-hash": "7d9f8c6b5", "team": "shop"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-30T10:15:00Z"},
            "name": name,
            "namespace": "shop",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "ReplicaSet",
                    "name": "shop-web-7d9f8c6b5",
                    "uid": "0b6c3a52-7f0e-4d8e-9a51-3f1f2f0c9e11",
                }
            ],
            "resourceVersion": str(100000 + i),
            "uid": f"5f1d2c3b-0000-4000-8000-{i:012d}",
        },
        "spec": {
            "containers": [
                container("web", "registry.example.com/shop/web:1.4.2", 8080),
                container("sidecar", "registry.example.com/shop/proxy:2.1.0", 15001),
                container("metrics", "registry.example.com/shop/exporter:0.9.1", 9100),
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": f"node-{i % 7}",
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {
                "runAsUser": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {
                    "name": "kube-api-access-x7k2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            ],
        },
        "status": {
            "conditions": [
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": "2026-11-30T10:15:42Z",
                    "status": "True",
                    "type": t,
                }
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "containerID": f"containerd://{i:064x}",
                    "image": "registry.example.com/shop/web:1.4.2",
                    "imageID": "registry.example.com/shop/web@sha256:" + "ab" * 32,
                    "lastState": {},
                    "name": "web",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": "2026-11-30T10:15:44Z"}},
                }
            ],
            "hostIP": "10.0.0.12",
            "phase": "Running",
            "podIP": f"10.244.{i % 250}.{i % 200 + 2}",
            "qosClass": "Burstable",
            "startTime": "2026-11-30T10:15:42Z",
        },
    }


def pod_list(count: int) -> dict[str, Any]:
    items = [kubectl_pod(i) for i in range(count)]
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def best(repeat: int, fn: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its children), each the best of `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - wall)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        cpus.append(time.process_time() - cpu + child)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    policies_dir = str(ROOT / "policies")
    policies = load_policies(policies_dir)
    listing = pod_list(args.pods)
    podgate = str(Path(sys.executable).with_name("podgate"))
    print(
        f"{args.pods} kubectl-style pods in one List file; {len(policies)} shipped policies;"
        f" best of {args.repeat}"
    )
    print(f"{'format':6} {'step':9} {'wall s':>8} {'cpu s':>8} {'pods/s':>9} {'x parse':>8}  (by wall)")
    summary: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "yaml": Path(tmp, "pods.yaml"),
            "json": Path(tmp, "pods.json"),
        }
        files["yaml"].write_text(yaml.safe_dump(listing, sort_keys=True))
        files["json"].write_text(json.dumps(listing, indent=4))
        empty = Path(tmp, "empty.json")
        empty.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))

        def run_cli(path: Path, expected: int) -> None:
            done = subprocess.run(
                [podgate, "evaluate", "-o", "json", "-p", policies_dir, str(path)],
                stdout=subprocess.DEVNULL,
                check=False,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            assert done.returncode == expected, done.returncode

        bare = best(args.repeat, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
        print(f"{'-':6} {'python':9} {bare[0]:8.3f} {bare[1]:8.3f}  (python -c pass, the floor)")
        startup_wall, startup_cpu = best(args.repeat, lambda: run_cli(empty, 0))
        ratio = startup_wall / bare[0]
        print(
            f"{'-':6} {'start-up':9} {startup_wall:8.3f} {startup_cpu:8.3f}  (empty List) {ratio:.1f}x python"
        )
        text = files["yaml"].read_text()
        plain = best(args.repeat, lambda: sum(1 for _ in yaml.load_all(text, Loader=yaml.CSafeLoader)))
        print(f"{'yaml':6} {'CSafe':9} {plain[0]:8.3f} {plain[1]:8.3f}  (plain yaml.load_all, no strictness)")
        for fmt, path in files.items():

            def parse(path: Path = path) -> None:
                assert sum(1 for _ in read_inputs([str(path)])) == args.pods

            def judge(path: Path = path) -> None:
                judged = [evaluate(policies, o.request).allowed for o in read_inputs([str(path)])]
                assert len(judged) == args.pods and not all(judged)  # the library denies some pods

            def cli(path: Path = path) -> None:
                run_cli(path, 1)  # some pods are denied

            size = path.stat().st_size / 1e6
            base = best(args.repeat, parse)
            for step, fn in (("parse", parse), ("evaluate", judge), ("cli", cli)):
                seconds, cpu = base if step == "parse" else best(args.repeat, fn)
                ratio = seconds / base[0]
                against = f"  {seconds / plain[0]:.2f}x CSafe" if fmt == "yaml" else ""
                print(
                    f"{fmt:6} {step:9} {seconds:8.3f} {cpu:8.3f}"
                    f" {args.pods / seconds:9.0f} {ratio:8.2f}{against}"
                )
                if step == "cli":
                    verdict = "met" if seconds < 1.5 else "NOT met"
                    summary.append(
                        f"target: {args.pods} {fmt.upper()} pods via the CLI in < 1.5 s wall: {verdict}"
                        f" ({seconds:.2f} s wall, {cpu:.2f} s CPU)"
                    )
            print(f"{fmt:6} file size {size:.1f} MB")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
