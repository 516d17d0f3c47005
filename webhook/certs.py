"""TLS material for the webhook: a CA and a serving certificate for the webhook's Service.

The API server calls the webhook at `https://<service>.<namespace>.svc:<port>` and verifies the serving
certificate against the `caBundle` of the webhook configuration, so the serving certificate carries every
DNS name of the Service as a SAN and `serverAuth` usage, and the CA is kept apart from it (rotating the
serving certificate does not change the caBundle). Keys are ECDSA P-256: small, fast to handshake, and
accepted everywhere Kubernetes runs. Private keys are written 0600.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY, TLS_CERT, TLS_KEY = "ca.crt", "ca.key", "tls.crt", "tls.key"


def service_dns_names(service: str, namespace: str) -> list[str]:
    """Every name the Service answers to inside the cluster."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


@dataclass(frozen=True)
class KeyPair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def utc_now() -> dt.datetime:
    """Now, timezone-aware: certificate validity is compared in UTC."""
    return dt.datetime.now(dt.UTC)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, **flags)


def generate_ca(*, common_name: str = "podgate-ca", days: int = 3650) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utc_now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew between nodes
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def generate_serving(
    ca: KeyPair, *, dns_names: Sequence[str], ip_addresses: Sequence[str] = (), days: int = 365
) -> KeyPair:
    """A serving certificate signed by `ca`, valid for the given names (the first is the subject CN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = utc_now()
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def ca_bundle(*ca_certs_pem: bytes) -> str:
    """The base64 `caBundle` for a webhook configuration; several CAs during a rotation."""
    return base64.b64encode(b"".join(ca_certs_pem)).decode("ascii")


def write_pem(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (a reader never sees half a file); private keys are 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class CertFiles:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def write_certificates(
    out: Path,
    *,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    days: int = 365,
    ca_days: int = 3650,
) -> CertFiles:
    """Generate a CA and a serving certificate into `out` (ca.crt, ca.key, tls.crt, tls.key)."""
    ca = generate_ca(days=ca_days)
    serving = generate_serving(ca, dns_names=dns_names, ip_addresses=ip_addresses, days=days)
    files = CertFiles(out / CA_CERT, out / CA_KEY, out / TLS_CERT, out / TLS_KEY)
    write_pem(files.ca_cert, ca.cert_pem)
    write_pem(files.ca_key, ca.key_pem, private=True)
    write_pem(files.cert, serving.cert_pem)
    write_pem(files.key, serving.key_pem, private=True)
    return files
