"""`podgate doctor`: refuse, with reasons, a webhook setup that can lock the cluster.

One module per risk (discovered like checks: every public module here is imported); each is a function
of an `Installation` built from rendered manifests or from a live cluster, yielding `Risk`s. A risk at
level `error` is a fail-closed setup that can deadlock Pod creation; `warning`s degrade or will break.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._installation import Installation, Webhook
from ._risk import RISKS, Risk, RiskType, risk

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def diagnose(installation: Installation) -> list[Risk]:
    """Every risk found, errors first, in a stable order."""
    found: list[Risk] = []
    if not installation.webhooks():
        found.append(
            Risk("no-webhooks", "error", "input", "no Validating/MutatingWebhookConfiguration found")
        )
    for risk_type in sorted(RISKS.values(), key=lambda r: r.id):
        found.extend(risk_type.run(installation))
    return sorted(found, key=lambda r: (r.level != "error", r.risk, r.where))


__all__ = ["RISKS", "Installation", "Risk", "RiskType", "Webhook", "diagnose", "risk"]
