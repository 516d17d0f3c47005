"""What each built-in check and mutator costs per request, against a baseline measured in the same run.

    .venv/bin/python bench/bench_checks.py [--rounds 15] [--batch 400]

For every check, `evaluate` runs a one-rule Deny policy on a realistic 3-container Pod (an init
container and two app containers, every field the checks read filled in, passing), and on the
same pod with the containers multiplied to 10 and to 100. The baseline is the same evaluation with a
no-op check, so `check cost` is what the check itself adds to a request (the engine's fixed work:
the shape check, matching and the decision, is in the baseline). The mutators are timed the same
way through `mutate` on a pod that needs every default, against a no-op mutator.

Times are this process's CPU time (other processes on the shared machine do not count), interleaved
(every variant once per round, in batches of calls), and the fastest round is reported: ratios within
one run are what to compare. A second table times each check function alone on the pod view (no
engine around it), which isolates the check's own cost from the noise of the whole request.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webhook.policy import Request, evaluate, load_policies, load_policy_text, mutate
from webhook.policy.podspec import PodView, pod_view
from webhook.policy.registry import CheckFn, CheckParams, Mutator, check, mutator
from webhook.policy.result import Finding

ROOT = Path(__file__).resolve().parent.parent


class NoParams(CheckParams):
    pass


@check("bench-noop", params=NoParams, summary="does nothing: the baseline")
def _noop_check(params: NoParams) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        return iter(())

    return run


@mutator("bench-noop", params=NoParams, summary="does nothing: the baseline")
def _noop_mutator(params: NoParams) -> Mutator:
    return Mutator(apply=lambda pod: None, targets=frozenset())


CHECK_PARAMS: dict[str, dict[str, Any]] = {
    "bench-noop": {},
    "no-root": {},
    "no-privileged": {
        "allowedCapabilities": ["NET_BIND_SERVICE"],
        "allowedHostPaths": [{"pathPrefix": "/var/log"}],
    },
    "trusted-registries": {
        "registries": ["registry.example.com", "ghcr.io/acme", "docker.io/library"],
        "forbidLatest": True,
    },
    "resource-limits": {
        "maxLimits": {"cpu": "16", "memory": "64Gi"},
        "maxLimitRequestRatio": {"memory": "4"},
    },
    "network-labels": {
        "labels": [
            {"key": "network.podgate.io/zone", "values": ["internal", "public"]},
            {"key": "app", "pattern": "[a-z][a-z0-9-]*"},
        ]
    },
}
MUTATOR_PARAMS: dict[str, dict[str, Any]] = {
    "bench-noop": {},
    "default-labels": {"labels": {"network.podgate.io/zone": "internal"}},
    "default-resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
    "disable-privilege-escalation": {},
}


def container(name: str, image: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def realistic_pod(app_containers: int) -> dict[str, Any]:
    images = ["registry.example.com/shop/web:1.4.2", "docker.io/library/nginx:1.27", "ghcr.io/acme/agent:3.1"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-7d9f",
            "namespace": "shop",
            "labels": {"app": "web", "network.podgate.io/zone": "internal"},
        },
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "initContainers": [container("migrate", images[0])],
            "containers": [container(f"c{i}", images[i % 3]) for i in range(app_containers)],
        },
    }


def bare_pod(app_containers: int) -> dict[str, Any]:
    """A pod every mutator has work on: no labels, resources or security contexts."""
    pod = realistic_pod(app_containers)
    pod["metadata"].pop("labels")
    for c in [*pod["spec"]["initContainers"], *pod["spec"]["containers"]]:
        del c["resources"], c["securityContext"]
    return pod


def policy(kind: str, name: str, params: dict[str, Any]) -> str:
    block = f"rules: [{{check: {name}, params: {json.dumps(params)}}}]"
    if kind == "mutator":
        mutation = f"mutations: [{{mutator: {name}, params: {json.dumps(params)}}}]"
        block = f"rules: [{{check: bench-noop}}]\n  {mutation}"
    return f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: bench}}
spec:
  description: Benchmark.
  remediation: None.
  {block}
"""


def measure(variants: dict[str, Callable[[], object]], rounds: int, batch: int) -> dict[str, float]:
    """Fastest round's per-call CPU time (µs), variants interleaved within every round.

    The fastest round, as `timeit` advises: slower rounds measure the machine's other load.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm caches (image and quantity parsing) and the allocator
        for _ in range(batch // 4 + 1):
            fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.process_time_ns()
            for _ in range(batch):
                fn()
            samples[name].append((time.process_time_ns() - start) / batch / 1000)
    return {name: min(values) for name, values in samples.items()}


def report(title: str, results: dict[str, float], baseline: str) -> None:
    base = results[baseline]
    print(f"\n{title}")
    print(f"  {'':<30} {'µs/request':>11} {'x baseline':>11} {'check cost µs':>14}")
    for name, value in results.items():
        print(f"  {name:<30} {value:11.1f} {value / base:11.2f} {value - base:14.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}; CPU time; {args.rounds} rounds x {args.batch} calls; fastest round"
    )

    for containers in (2, 10, 100):
        pod = realistic_pod(containers)
        batch = max(10, args.batch * 2 // max(containers, 2))
        variants: dict[str, Callable[[], object]] = {}
        for name, params in CHECK_PARAMS.items():
            policies = load_policy_text(policy("check", name, params))
            request = Request(object=pod)
            assert evaluate(policies, request).allowed, name  # the realistic pod passes every check
            variants[name] = lambda p=policies, r=request: evaluate(p, r)
        library = load_policies(ROOT / "policies")
        whole = Request(object=pod)
        variants["shipped library (all)"] = lambda p=library, r=whole: evaluate(p, r)
        results = measure(variants, args.rounds, batch)
        view = pod_view(pod)
        assert view is not None
        alone: dict[str, Callable[[], object]] = {}
        for name, params in CHECK_PARAMS.items():
            (rule,) = load_policy_text(policy("check", name, params)).policies[0].rules
            alone[name] = lambda run=rule.run, v=view: list(run(v))
        report(
            f"check function alone: Pod with 1 init + {containers} app containers",
            measure(alone, args.rounds, batch * 4),
            "bench-noop",
        )
        report(
            f"evaluate: Pod with 1 init + {containers} app containers ({len(library)} shipped policies)",
            results,
            "bench-noop",
        )

    for containers in (2, 10):
        pod = bare_pod(containers)
        variants = {}
        for name, params in MUTATOR_PARAMS.items():
            policies = load_policy_text(policy("mutator", name, params))
            request = Request(object=copy.deepcopy(pod))
            result = mutate(policies, request)
            assert (name == "bench-noop") == (not result.patch), name
            variants[name] = lambda p=policies, r=request: mutate(p, r)
        results = measure(variants, args.rounds, max(10, args.batch // containers))
        report(
            f"mutate: bare Pod with 1 init + {containers} app containers (every default missing)",
            results,
            "bench-noop",
        )


if __name__ == "__main__":
    main()
