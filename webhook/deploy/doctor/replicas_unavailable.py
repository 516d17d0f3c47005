"""replicas-unavailable: a live installation whose Deployment has too few ready replicas right now.

Only a cluster read carries a status: rendered manifests are never judged here. No ready replica behind
a fail-closed webhook means matching requests are being refused at this moment.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk
from .too_few_replicas import MIN_REPLICAS


@risk("replicas-unavailable", summary="a running webhook must have ready replicas (cluster reads only)")
def run(installation: Installation) -> Iterator[Risk]:
    seen = set()
    for hook in installation.webhooks():
        service = installation.service_of(hook)
        for deployment in installation.deployments_behind(service) if service else []:
            status = deployment.body.get("status")
            if status is None or deployment.ref in seen:
                continue
            seen.add(deployment.ref)
            ready = status.get("readyReplicas", 0)  # absent when none is ready
            if ready == 0:
                yield Risk(
                    "replicas-unavailable",
                    hook.level,
                    f"{deployment.ref} (behind {hook.label})",
                    "no replica is ready: "
                    + (
                        "every matching request is refused now; see docs/deploy.md, lockout recovery"
                        if hook.fails_closed
                        else "matching requests go through unjudged"
                    ),
                )
            elif ready < MIN_REPLICAS and hook.fails_closed:
                yield Risk(
                    "replicas-unavailable",
                    "warning",
                    f"{deployment.ref} (behind {hook.label})",
                    f"only {ready} replica ready: one more failure refuses every matching request",
                )
