"""timeout-too-high: a webhook the API server waits on for more than 10 seconds.

Every Pod creation waits on the webhook; a long timeout turns a slow or dying replica into cluster-wide
stalls (controllers back off, kubectl hangs), and past the API server's own request deadline the call fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..names import MAX_SAFE_TIMEOUT_SECONDS
from ._installation import Installation
from ._risk import Risk, risk


@risk("timeout-too-high", summary=f"timeoutSeconds must be at most {MAX_SAFE_TIMEOUT_SECONDS}")
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        timeout = hook.body.get("timeoutSeconds", 10)  # the v1 default
        if isinstance(timeout, int) and timeout > MAX_SAFE_TIMEOUT_SECONDS:
            yield Risk(
                "timeout-too-high",
                "error",
                hook.label,
                f"timeoutSeconds is {timeout}: every Pod creation may wait that long on podgate; "
                f"use at most {MAX_SAFE_TIMEOUT_SECONDS} (podgate ships 5)",
            )
