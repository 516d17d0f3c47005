"""service-unreachable: a webhook whose Service, port or backing Deployment is not part of the setup.

Every call to a webhook that points at nothing fails; with failurePolicy Fail, every matching request
in the cluster is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._installation import Installation
from ._risk import Risk, risk


@risk("service-unreachable", summary="the webhook's Service exists, exposes its port and has a Deployment")
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        ref = hook.service
        if not ref:
            continue
        service = installation.service_of(hook)
        if service is None:
            yield Risk(
                "service-unreachable",
                hook.level,
                hook.label,
                f"no Service {ref.get('namespace')}/{ref.get('name')} among the objects: "
                "every call would fail",
            )
            continue
        port = ref.get("port", 443)
        ports = [p.get("port") for p in (service.body.get("spec") or {}).get("ports") or []]
        if port not in ports:
            yield Risk(
                "service-unreachable",
                hook.level,
                hook.label,
                f"the webhook calls port {port} but {service.ref} exposes {ports or 'no port'}",
            )
        if not installation.deployments_behind(service):
            yield Risk(
                "service-unreachable",
                hook.level,
                hook.label,
                f"no Deployment's Pods match the selector of {service.ref}: nothing would answer",
            )
