"""own-namespace-selected: a webhook that judges podgate's own namespace.

When podgate is down, its replacement Pods are themselves sent to podgate: with failurePolicy Fail they
are refused and podgate never comes back (the classic lockout). With Ignore, a policy can still deny
podgate's own Pods while it is up.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk


@risk("own-namespace-selected", summary="the webhook's namespaceSelector must exclude podgate's namespace")
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        namespace = hook.service.get("namespace")
        if not namespace:
            continue  # a URL webhook runs outside the cluster
        if hook.selects_namespace(namespace, installation.namespace_labels(namespace)):
            yield Risk(
                "own-namespace-selected",
                hook.level,
                hook.label,
                f"the namespaceSelector sends requests from {namespace!r}, where podgate itself runs; add "
                f"{namespace!r} to the `kubernetes.io/metadata.name NotIn` values",
            )
