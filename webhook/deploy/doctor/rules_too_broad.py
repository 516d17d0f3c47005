"""rules-too-broad: a fail-closed webhook whose rules reach cluster-scoped objects or every resource.

A namespaceSelector only filters namespaced objects: a rule with `scope: "*"` or `Cluster`, or wildcard
resources, also sends Nodes, Namespaces, webhook configurations and the rest, which no exclusion can
spare. With failurePolicy Fail, a podgate outage then blocks the cluster's own housekeeping.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk


@risk("rules-too-broad", summary="rules must name namespaced pod-bearing resources, not `*` or cluster scope")
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        for index, rule in enumerate(hook.body.get("rules") or []):
            resources = rule.get("resources") or []
            wildcard = [r for r in resources if r == "*" or r.startswith("*/")]
            scope = rule.get("scope", "*")  # the v1 default reaches cluster-scoped objects too
            if wildcard or "*" in (rule.get("apiGroups") or []):
                reason = f"rules[{index}] matches every resource ({', '.join(wildcard) or 'apiGroups *'})"
            elif scope != "Namespaced":
                reason = f"rules[{index}] has scope {scope!r}, which includes cluster-scoped objects"
            else:
                continue
            yield Risk(
                "rules-too-broad",
                hook.level,
                hook.label,
                f"{reason}: the namespaceSelector cannot exclude those; name the resources and set "
                "scope: Namespaced (`podgate webhook-config` derives them from the policies)",
            )
