"""too-few-replicas: a fail-closed webhook served by fewer than 2 replicas.

One replica means every restart, eviction, node drain or crash refuses all matching requests for as long
as the Pod is away. An autoscaler's minReplicas is the floor that matters when one is present.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk

MIN_REPLICAS = 2


@risk("too-few-replicas", summary=f"a fail-closed webhook needs at least {MIN_REPLICAS} replicas")
def run(installation: Installation) -> Iterator[Risk]:
    for hook, deployment in installation.fail_closed_deployments():
        replicas = (deployment.body.get("spec") or {}).get("replicas", 1)
        floors = [
            (hpa.body.get("spec") or {}).get("minReplicas", 1)
            for hpa in installation.autoscalers_for(deployment)
        ]
        floor = min(floors) if floors else replicas
        if floor < MIN_REPLICAS:
            source = f"its autoscaler's minReplicas is {floor}" if floors else f"replicas is {replicas}"
            yield Risk(
                "too-few-replicas",
                "error",
                f"{deployment.ref} (behind {hook.label})",
                f"{source}: with failurePolicy Fail a single restart refuses every matching request; "
                f"run at least {MIN_REPLICAS} (podgate ships 3)",
            )
