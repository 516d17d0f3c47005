"""no-disruption-budget: a fail-closed webhook whose Pods no PodDisruptionBudget protects.

Without one, a node drain or cluster upgrade may evict every replica at once. A budget that allows no
disruption at all is the opposite problem: drains hang forever, so it is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk


@risk("no-disruption-budget", summary="a fail-closed webhook's Pods need a PodDisruptionBudget")
def run(installation: Installation) -> Iterator[Risk]:
    for hook, deployment in installation.fail_closed_deployments():
        budgets = installation.disruption_budgets_for(deployment)
        if not budgets:
            yield Risk(
                "no-disruption-budget",
                "error",
                f"{deployment.ref} (behind {hook.label})",
                "no PodDisruptionBudget selects its Pods: a drain may evict every replica at once; "
                "add one with maxUnavailable: 1",
            )
        replicas = (deployment.body.get("spec") or {}).get("replicas", 1)
        for pdb in budgets:
            spec = pdb.body.get("spec") or {}
            if spec.get("maxUnavailable") in (0, "0%") or spec.get("minAvailable") in (replicas, "100%"):
                yield Risk(
                    "no-disruption-budget",
                    "warning",
                    pdb.ref,
                    "allows no voluntary disruption: node drains will hang; use maxUnavailable: 1",
                )
