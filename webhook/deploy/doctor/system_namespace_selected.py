"""system-namespace-selected: a webhook that judges kube-system or kube-node-lease.

Control-plane add-ons (DNS, CNI, kube-proxy) live in kube-system: if podgate fails closed on them, the
cluster cannot heal the very components podgate needs to be reached (DNS, the Service network).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..names import ALWAYS_EXCLUDED
from ._installation import Installation
from ._risk import Risk, risk


@risk(
    "system-namespace-selected", summary="the namespaceSelector must exclude kube-system and kube-node-lease"
)
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        selected = [
            ns for ns in ALWAYS_EXCLUDED if hook.selects_namespace(ns, installation.namespace_labels(ns))
        ]
        if selected:
            yield Risk(
                "system-namespace-selected",
                hook.level,
                hook.label,
                f"the namespaceSelector sends requests from {', '.join(selected)}; exclude them with "
                "`kubernetes.io/metadata.name NotIn [kube-system, kube-node-lease, ...]`",
            )
