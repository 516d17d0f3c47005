"""Certificates are parsed back with `cryptography` and checked field by field."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from webhook.certs import ca_bundle, service_dns_names, write_certificates


def test_generated_ca_and_serving_certificate(tmp_path: Path) -> None:
    names = service_dns_names("podgate", "podgate-system")
    assert names == [
        "podgate",
        "podgate.podgate-system",
        "podgate.podgate-system.svc",
        "podgate.podgate-system.svc.cluster.local",
    ]
    files = write_certificates(tmp_path, dns_names=names, ip_addresses=["127.0.0.1"], days=30)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == names
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert 29 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 30
    for key in (files.key, files.ca_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # The standard library's TLS stack accepts the pair as a server identity.
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(files.cert, files.key)


def test_ca_bundle_concatenates_for_rotation(tmp_path: Path) -> None:
    import base64

    old = write_certificates(tmp_path / "old", dns_names=["a"]).ca_cert.read_bytes()
    new = write_certificates(tmp_path / "new", dns_names=["a"]).ca_cert.read_bytes()
    bundle = base64.b64decode(ca_bundle(old, new))
    assert len(x509.load_pem_x509_certificates(bundle)) == 2
