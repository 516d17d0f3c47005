"""Certificate operations on a certs/ directory: generate, renew, rotate the CA, and check.

The directory holds what `webhook.certs` issues plus the CA bundle the webhook configurations trust:

    ca.crt ca.key      the CA that signs the serving certificate
    tls.crt tls.key    the serving certificate (every Service DNS name as a SAN) and its key
    ca-bundle.crt      the CAs the API server trusts (the caBundle): ca.crt, plus the other CA mid-rotation
    ca-next.crt/.key   the incoming CA between `rotate begin` and `rotate switch`
    ca-old.crt         the outgoing CA between `rotate switch` and `rotate finish`

A CA rotation without outage has three steps, each applied to the cluster before the next: `begin`
(trust old + new), `switch` (serve a certificate from the new CA, still trusting both), `finish`
(trust only the new CA). At no point does the API server see a serving certificate it does not trust.
"""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID

from .. import certs
from . import names

CA_BUNDLE, CA_NEXT_CERT, CA_NEXT_KEY, CA_OLD_CERT = (
    "ca-bundle.crt",
    "ca-next.crt",
    "ca-next.key",
    "ca-old.crt",
)
DEFAULT_WARN_DAYS = 30
T = TypeVar("T")


class CertificateError(ValueError):
    """A certs/ directory that cannot serve the requested operation; the message says what to do."""


Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def _read_pem(path: Path, load: Callable[[bytes], T], what: str) -> T:
    try:
        return load(path.read_bytes())
    except FileNotFoundError:
        raise CertificateError(f"{path}: missing; run `podgate certs generate` first") from None
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"{path}: not {what} ({exc})") from None


def load_cert(path: Path) -> x509.Certificate:
    return _read_pem(path, x509.load_pem_x509_certificate, "a PEM certificate")


def load_certs(path: Path) -> list[x509.Certificate]:
    return _read_pem(path, x509.load_pem_x509_certificates, "a PEM certificate bundle")


def load_key(path: Path) -> PrivateKeyTypes:
    return _read_pem(
        path,
        lambda data: serialization.load_pem_private_key(data, password=None),
        "an unencrypted PEM private key",
    )


def _keypair(cert_path: Path, key_path: Path) -> certs.KeyPair:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = load_key(key_path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{key_path}: expected an ECDSA key as `podgate certs generate` writes")
    return certs.KeyPair(load_cert(cert_path), key)


def dns_names_of(cert: x509.Certificate) -> list[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(sans.get_values_for_type(x509.DNSName))


def _days_of(cert: x509.Certificate) -> int:
    return max(1, (cert.not_valid_after_utc - cert.not_valid_before_utc).days)


# --- generate, renew -----------------------------------------------------------------------------------


def generate(
    out: Path,
    *,
    service: str = names.SERVICE,
    namespace: str = names.NAMESPACE,
    days: int = 365,
    ca_days: int = 3650,
    force: bool = False,
) -> str:
    """A new CA and serving certificate in `out`; returns the base64 caBundle.

    Refuses to replace an existing CA unless forced: a new CA that the cluster does not trust yet is an
    outage (use `renew` or `rotate` instead).
    """
    if (out / certs.CA_CERT).exists() and not force:
        raise CertificateError(
            f"{out / certs.CA_CERT} exists: replacing the CA breaks the webhooks until the new caBundle is "
            "applied. Use `podgate certs renew` (new serving certificate, same CA), `podgate certs rotate` "
            "(new CA without outage), or --force"
        )
    if days < 1 or ca_days < days:
        raise CertificateError(f"--days must be at least 1 and at most --ca-days ({ca_days}); got {days}")
    files = certs.write_certificates(
        out, dns_names=certs.service_dns_names(service, namespace), days=days, ca_days=ca_days
    )
    ca_pem = files.ca_cert.read_bytes()
    certs.write_pem(out / CA_BUNDLE, ca_pem)
    for stale in (CA_NEXT_CERT, CA_NEXT_KEY, CA_OLD_CERT):
        (out / stale).unlink(missing_ok=True)
    return certs.ca_bundle(ca_pem)


def renew(out: Path, *, days: int | None = None, dns_names: Sequence[str] | None = None) -> x509.Certificate:
    """A new serving certificate from the current CA, with the same names unless given: no caBundle change."""
    ca = _keypair(out / certs.CA_CERT, out / certs.CA_KEY)
    current = load_cert(out / certs.TLS_CERT) if (out / certs.TLS_CERT).exists() else None
    names_ = list(dns_names) if dns_names else (dns_names_of(current) if current else [])
    if not names_:
        raise CertificateError("no DNS names to issue for: give --service and --namespace")
    serving = certs.generate_serving(
        ca, dns_names=names_, days=days or (_days_of(current) if current else 365)
    )
    # In the cluster the pair arrives atomically (a Secret volume swaps both files at once); locally a
    # reader may see the new key with the old certificate for an instant, so readers check the pair.
    certs.write_pem(out / certs.TLS_KEY, serving.key_pem, private=True)
    certs.write_pem(out / certs.TLS_CERT, serving.cert_pem)
    return serving.cert


# --- CA rotation ---------------------------------------------------------------------------------------

RotationStep = Literal["begin", "switch", "finish"]


def rotation_state(out: Path) -> str:
    if (out / CA_NEXT_CERT).exists():
        return "begun: the bundle trusts both CAs; next `podgate certs rotate switch`"
    if (out / CA_OLD_CERT).exists():
        return "switched: serving from the new CA, still trusting the old; next `podgate certs rotate finish`"
    return "none"


def rotate(out: Path, step: RotationStep, *, ca_days: int = 3650) -> str:
    """One step of a CA rotation; returns what to do next. Each step is refused out of order."""
    load_cert(out / certs.CA_CERT)  # every step needs a readable current CA
    current_pem = (out / certs.CA_CERT).read_bytes()
    if step == "begin":
        if (out / CA_NEXT_CERT).exists() or (out / CA_OLD_CERT).exists():
            raise CertificateError(f"a rotation is already under way ({rotation_state(out)})")
        new = certs.generate_ca(days=ca_days)
        certs.write_pem(out / CA_NEXT_KEY, new.key_pem, private=True)
        certs.write_pem(out / CA_NEXT_CERT, new.cert_pem)
        certs.write_pem(out / CA_BUNDLE, current_pem + new.cert_pem)
        return (
            "the CA bundle now trusts the old and the new CA. Apply the overlay, check every webhook's "
            "caBundle holds both (`podgate certs check --manifests ...`), then `podgate certs rotate switch`"
        )
    if step == "switch":
        if not (out / CA_NEXT_CERT).exists():
            raise CertificateError(
                f"no rotation begun: run `podgate certs rotate begin` first ({rotation_state(out)})"
            )
        bundle = load_certs(out / CA_BUNDLE)
        incoming = load_cert(out / CA_NEXT_CERT)
        if incoming not in bundle:
            raise CertificateError(
                f"{out / CA_BUNDLE} does not hold {CA_NEXT_CERT}: run `rotate begin` again"
            )
        serving = load_cert(out / certs.TLS_CERT)
        new_ca = _keypair(out / CA_NEXT_CERT, out / CA_NEXT_KEY)
        issued = certs.generate_serving(new_ca, dns_names=dns_names_of(serving), days=_days_of(serving))
        certs.write_pem(out / CA_OLD_CERT, current_pem)
        certs.write_pem(out / certs.CA_KEY, new_ca.key_pem, private=True)
        certs.write_pem(out / certs.CA_CERT, new_ca.cert_pem)
        certs.write_pem(out / certs.TLS_KEY, issued.key_pem, private=True)
        certs.write_pem(out / certs.TLS_CERT, issued.cert_pem)
        (out / CA_NEXT_CERT).unlink()
        (out / CA_NEXT_KEY).unlink()
        return (
            "the serving certificate now comes from the new CA (the bundle still trusts both). Apply the "
            "overlay, wait until every replica serves it (`podgate certs check --endpoint ...`), then "
            "`podgate certs rotate finish`"
        )
    if not (out / CA_OLD_CERT).exists():
        raise CertificateError(f"nothing to finish: `rotate switch` has not run ({rotation_state(out)})")
    if issued_by_any(load_cert(out / certs.TLS_CERT), [load_cert(out / certs.CA_CERT)]) is None:
        raise CertificateError("tls.crt is not signed by the new CA: the old CA must stay trusted")
    certs.write_pem(out / CA_BUNDLE, (out / certs.CA_CERT).read_bytes())
    (out / CA_OLD_CERT).unlink()
    return "the CA bundle trusts only the new CA. Apply the overlay: the rotation is complete"


# --- check ---------------------------------------------------------------------------------------------


def _expiry(label: str, cert: x509.Certificate, warn_days: int, now: dt.datetime) -> Finding:
    left = cert.not_valid_after_utc - now
    until = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    if cert.not_valid_before_utc > now:
        return Finding("error", f"{label} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if left.total_seconds() <= 0:
        return Finding("error", f"{label} expired on {until}")
    if left.days < warn_days:
        return Finding("warning", f"{label} expires in {left.days} days ({until}): renew it now")
    return Finding("ok", f"{label} valid for {left.days} more days (until {until})")


def issued_by_any(cert: x509.Certificate, cas: Iterable[x509.Certificate]) -> x509.Certificate | None:
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return ca
    return None


def _same_public_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki))


def serving_findings(
    serving: x509.Certificate, bundle: Sequence[x509.Certificate], dns_names: Sequence[str], warn_days: int
) -> list[Finding]:
    """What the API server will think of a serving certificate, given the caBundle it trusts."""
    found: list[Finding] = []
    now = certs.utc_now()
    found.append(_expiry("serving certificate", serving, warn_days, now))
    issuer = issued_by_any(serving, bundle)
    if issuer is None:
        found.append(Finding("error", "serving certificate is not signed by any CA in the caBundle"))
    else:
        found.append(Finding("ok", f"serving certificate chains to CA {issuer.subject.rfc4514_string()}"))
        found.append(_expiry(f"CA {issuer.subject.rfc4514_string()}", issuer, warn_days, now))
        if issuer.not_valid_after_utc < serving.not_valid_after_utc:
            found.append(Finding("warning", "the CA expires before the serving certificate: rotate the CA"))
    present = set(dns_names_of(serving))
    missing = [n for n in dns_names if n not in present]
    if missing:
        found.append(
            Finding("error", f"serving certificate lacks the Service DNS name(s) {', '.join(missing)}")
        )
    else:
        found.append(Finding("ok", f"serving certificate names {', '.join(dns_names)}"))
    try:
        usage = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in usage:
            found.append(Finding("error", "serving certificate lacks the serverAuth extended key usage"))
    except x509.ExtensionNotFound:
        pass  # no EKU extension means any usage
    return found


def decode_ca_bundle(value: str) -> list[x509.Certificate]:
    """A caBundle as the API server reads it (Go's base64 skips line breaks, which kustomize inserts)."""
    raw = base64.b64decode("".join(value.split()), validate=True)
    return x509.load_pem_x509_certificates(raw)


def ca_bundle_findings(label: str, ca_bundle_b64: str | None, serving: x509.Certificate) -> list[Finding]:
    """Whether a webhook's caBundle trusts the serving certificate (the drift behind rotation outages)."""
    if not ca_bundle_b64:
        return [Finding("error", f"{label}: no caBundle; the API server cannot verify the webhook")]
    try:
        bundle = decode_ca_bundle(ca_bundle_b64)
    except ValueError as exc:
        return [Finding("error", f"{label}: caBundle is not base64 PEM certificates ({exc})")]
    if issued_by_any(serving, bundle) is None:
        return [
            Finding("error", f"{label}: caBundle does not hold the CA that signed the serving certificate")
        ]
    return [Finding("ok", f"{label}: caBundle trusts the serving certificate ({len(bundle)} CA(s))")]


def webhook_bundles(objects: Iterable[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(label, caBundle) of every webhook in the Validating/Mutating configurations among `objects`."""
    found = []
    for obj in objects:
        if obj.get("kind") in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for hook in obj.get("webhooks") or []:
                label = f"{obj['kind']} {obj.get('metadata', {}).get('name')}: webhook {hook.get('name')}"
                found.append((label, (hook.get("clientConfig") or {}).get("caBundle")))
    return found


def check_directory(
    out: Path,
    *,
    dns_names: Sequence[str] | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    manifests: Iterable[dict[str, Any]] = (),
) -> list[Finding]:
    """Every check on a certs/ directory, and on the caBundles of rendered webhook configurations."""
    found: list[Finding] = []
    serving = load_cert(out / certs.TLS_CERT)
    ca = load_cert(out / certs.CA_CERT)
    bundle = load_certs(out / CA_BUNDLE)
    for cert_file, key_file, label in (
        (certs.TLS_CERT, certs.TLS_KEY, "serving"),
        (certs.CA_CERT, certs.CA_KEY, "CA"),
    ):
        key = load_key(out / key_file)
        cert = serving if label == "serving" else ca
        if _same_public_key(cert, key):
            found.append(Finding("ok", f"{key_file} matches {cert_file}"))
        else:
            found.append(
                Finding("error", f"{key_file} is not the key of {cert_file} ({label} pair mismatch)")
            )
        mode = (out / key_file).stat().st_mode & 0o777
        if mode & 0o077:
            found.append(Finding("warning", f"{key_file} is readable by others (mode {mode:o}): chmod 600"))
    if ca not in bundle:
        found.append(Finding("error", f"{CA_BUNDLE} does not hold ca.crt: the API server will not trust it"))
    if issued_by_any(serving, [ca]) is None:
        found.append(Finding("error", "tls.crt is not signed by ca.crt"))
    expected = list(dns_names) if dns_names else certs.service_dns_names(names.SERVICE, names.NAMESPACE)
    found += serving_findings(serving, bundle, expected, warn_days)
    state = rotation_state(out)
    if state != "none":
        found.append(Finding("warning", f"CA rotation {state}"))
    for label, ca_bundle_b64 in webhook_bundles(manifests):
        found += ca_bundle_findings(label, ca_bundle_b64, serving)
    return found


def fetch_served_certificate(
    host: str, port: int, *, server_name: str, ca_bundle_file: Path, timeout: float = 5.0
) -> x509.Certificate:
    """The certificate a running endpoint serves, verified against the bundle for `server_name`.

    The connection goes to host:port but verifies the name the API server will use (`svc.ns.svc`), as the
    API server does; a failure raises CertificateError with the TLS library's reason.
    """
    import socket

    context = ssl.create_default_context(cafile=str(ca_bundle_file))
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        raise CertificateError(f"{host}:{port} as {server_name}: {exc.verify_message}") from None
    except OSError as exc:
        raise CertificateError(f"{host}:{port}: {exc}") from None
    if der is None:
        raise CertificateError(f"{host}:{port}: no certificate served")
    return x509.load_der_x509_certificate(der)
