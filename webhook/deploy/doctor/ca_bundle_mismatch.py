"""ca-bundle-mismatch: a webhook whose caBundle does not trust the certificate podgate serves.

The API server verifies the serving certificate against the caBundle: a missing bundle, or one that lost
the CA during a rotation, fails every call (refused with Fail). The serving certificate is read from the
TLS Secret the Deployment mounts (or given with --cert).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..certificates import decode_ca_bundle, issued_by_any
from ._installation import Installation
from ._risk import Risk, risk


@risk("ca-bundle-mismatch", summary="every caBundle must hold the CA that signed the serving certificate")
def run(installation: Installation) -> Iterator[Risk]:
    for hook in installation.webhooks():
        client = hook.body.get("clientConfig") or {}
        if "url" in client and "caBundle" not in client:
            continue  # a URL webhook may be signed by a public CA the API server trusts
        bundle_text = client.get("caBundle")
        if not bundle_text:
            yield Risk(
                "ca-bundle-mismatch",
                hook.level,
                hook.label,
                "no caBundle: the API server cannot verify podgate",
            )
            continue
        try:
            bundle = decode_ca_bundle(bundle_text)
        except ValueError as exc:
            yield Risk(
                "ca-bundle-mismatch",
                hook.level,
                hook.label,
                f"the caBundle is not base64 PEM certificates: {exc}",
            )
            continue
        service = installation.service_of(hook)
        deployments = installation.deployments_behind(service) if service else []
        cert, source = installation.serving_certificate(deployments[0] if deployments else None)
        if cert is None:
            yield Risk(
                "ca-bundle-mismatch",
                "warning",
                hook.label,
                f"cannot compare the caBundle with the serving certificate ({source or 'no TLS Secret'}): "
                "give --cert certs/tls.crt",
            )
        elif issued_by_any(cert, bundle) is None:
            yield Risk(
                "ca-bundle-mismatch",
                hook.level,
                hook.label,
                f"the caBundle ({len(bundle)} CA(s)) does not hold the CA that signed the certificate in "
                f"{source}: every call would fail TLS verification",
            )
