"""certificate-expiry: a serving certificate (or its CA in the bundle) that is expired or about to be.

An expired certificate fails every call exactly like a missing one, on a date known in advance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from ..certificates import DEFAULT_WARN_DAYS
from ._installation import Installation
from ._risk import Risk, risk


@risk("certificate-expiry", summary=f"the serving certificate must be valid for {DEFAULT_WARN_DAYS}+ days")
def run(installation: Installation) -> Iterator[Risk]:
    now = dt.datetime.now(dt.UTC)
    checked = set()
    for hook in installation.webhooks():
        service = installation.service_of(hook)
        deployments = installation.deployments_behind(service) if service else []
        cert, source = installation.serving_certificate(deployments[0] if deployments else None)
        if cert is None or source in checked:
            continue
        checked.add(source)
        left = cert.not_valid_after_utc - now
        if left.total_seconds() <= 0:
            yield Risk(
                "certificate-expiry",
                hook.level,
                source,
                f"the serving certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}: "
                "`podgate certs renew`",
            )
        elif left.days < DEFAULT_WARN_DAYS:
            yield Risk(
                "certificate-expiry",
                "warning",
                source,
                f"the serving certificate expires in {left.days} days: `podgate certs renew` and apply",
            )
