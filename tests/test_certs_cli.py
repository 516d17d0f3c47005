"""`podgate certs generate|renew|rotate|check`, with certificates parsed back by `cryptography` and
verified in real TLS handshakes on loopback by the Service DNS name, as the API server verifies them.

Until `podgate serve` is on main, the TLS endpoint here is the standard library's TLS server loaded with
the generated files; the same checks must pass against the real server (see docs/deploy.md)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import shutil
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from webhook.certs import service_dns_names
from webhook.cli import main
from webhook.deploy.certificates import CertificateError, fetch_served_certificate, generate, renew, rotate

SERVICE_NAME = "podgate.podgate-system.svc"


@contextlib.contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    """A TLS server on 127.0.0.1 serving `cert`, completing handshakes until closed; yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with (
                contextlib.suppress(ssl.SSLError, OSError),
                context.wrap_socket(conn, server_side=True) as tls,
            ):
                tls.recv(1)  # the client closes after the handshake

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def snapshot(certs: Path, into: Path) -> Path:
    """A copy of what is applied at one moment (the Secret and caBundle the cluster holds)."""
    shutil.copytree(certs, into)
    return into


def api_server_accepts(bundle: Path, served: Path) -> bool:
    """Would the API server, trusting `bundle`, accept a webhook serving the pair in `served`?"""
    with tls_server(served / "tls.crt", served / "tls.key") as port:
        try:
            fetch_served_certificate("127.0.0.1", port, server_name=SERVICE_NAME, ca_bundle_file=bundle)
        except CertificateError:
            return False
    return True


def test_generate_writes_a_ca_and_a_serving_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "certs"
    assert (
        main(
            [
                "certs",
                "generate",
                "--service",
                "podgate",
                "--namespace",
                "podgate-system",
                "--out",
                str(out),
                "--days",
                "90",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    ca_pem = (out / "ca.crt").read_bytes()
    assert f"caBundle: {base64.b64encode(ca_pem).decode()}" in printed
    assert (out / "ca-bundle.crt").read_bytes() == ca_pem
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == service_dns_names("podgate", "podgate-system")
    assert (
        ExtendedKeyUsageOID.SERVER_AUTH
        in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert 89 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 90
    for key in ("tls.key", "ca.key"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600
    assert api_server_accepts(out / "ca-bundle.crt", out)


def test_generate_refuses_to_replace_a_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path)
    before = (tmp_path / "ca.crt").read_bytes()
    assert main(["certs", "generate", "--out", str(tmp_path)]) == 2
    assert "Use `podgate certs renew`" in capsys.readouterr().err
    assert (tmp_path / "ca.crt").read_bytes() == before
    assert main(["certs", "generate", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "ca.crt").read_bytes() != before


def test_renew_keeps_the_ca_and_the_names(tmp_path: Path) -> None:
    generate(tmp_path, days=30)
    old = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    bundle = (tmp_path / "ca-bundle.crt").read_bytes()
    applied = snapshot(tmp_path, tmp_path.parent / "applied-before-renew")
    assert main(["certs", "renew", "--out", str(tmp_path), "--days", "60"]) == 0
    new = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    assert new.serial_number != old.serial_number
    assert new.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ) == old.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert (tmp_path / "ca-bundle.crt").read_bytes() == bundle  # nothing to change in the webhooks
    assert 59 <= (new.not_valid_after_utc - new.not_valid_before_utc).days <= 60
    # The caBundle already applied trusts the renewed certificate: no outage while the Secret updates.
    assert api_server_accepts(applied / "ca-bundle.crt", tmp_path)


def test_ca_rotation_never_serves_an_untrusted_certificate(tmp_path: Path) -> None:
    """Every (applied caBundle, served certificate) pair that exists while each step rolls out verifies."""
    certs = tmp_path / "certs"
    generate(certs)
    states = [snapshot(certs, tmp_path / "0-initial")]
    for step in ("begin", "switch", "finish"):
        assert main(["certs", "rotate", step, "--out", str(certs)]) == 0
        states.append(snapshot(certs, tmp_path / f"{len(states)}-{step}"))
    # While step N rolls out, the cluster mixes state N-1 and state N: the webhook configuration and the
    # Secret volume update at different times, so every cross pair must hold.
    for before, after in itertools.pairwise(states):
        for bundle_from in (before, after):
            for served_from in (before, after):
                assert api_server_accepts(bundle_from / "ca-bundle.crt", served_from), (
                    bundle_from,
                    served_from,
                )
    initial, final = states[0], states[-1]
    assert (initial / "ca.crt").read_bytes() != (final / "ca.crt").read_bytes()
    assert len(x509.load_pem_x509_certificates((final / "ca-bundle.crt").read_bytes())) == 1
    # The naive way, a new CA applied at once, is exactly the outage the steps avoid:
    assert not api_server_accepts(initial / "ca-bundle.crt", final)


def test_rotation_steps_are_refused_out_of_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path)
    assert main(["certs", "rotate", "switch", "--out", str(tmp_path)]) == 2
    assert "run `podgate certs rotate begin` first" in capsys.readouterr().err
    assert main(["certs", "rotate", "finish", "--out", str(tmp_path)]) == 2
    rotate(tmp_path, "begin")
    assert main(["certs", "rotate", "begin", "--out", str(tmp_path)]) == 2
    assert "already under way" in capsys.readouterr().err
    assert main(["certs", "rotate", "status", "--out", str(tmp_path)]) == 0
    assert "begun" in capsys.readouterr().out


def webhook_manifest(path: Path, kind: str, webhook: str, ca_bundle: str) -> Path:
    """A podgate webhook configuration of `kind` with one webhook trusting `ca_bundle`."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": kind,
                "metadata": {"name": "podgate"},
                "webhooks": [{"name": webhook, "clientConfig": {"caBundle": ca_bundle}}],
            }
        )
    )
    return path


def test_check_passes_a_fresh_directory_and_rendered_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path)
    bundle = base64.b64encode((tmp_path / "ca-bundle.crt").read_bytes()).decode()
    manifests = webhook_manifest(
        tmp_path / "webhooks.yaml", "ValidatingWebhookConfiguration", "validate.podgate.io", bundle
    )
    assert main(["certs", "check", "--out", str(tmp_path), "--manifests", str(manifests)]) == 0
    out = capsys.readouterr().out
    assert "ok: ValidatingWebhookConfiguration podgate: webhook validate.podgate.io: caBundle trusts" in out
    assert out.strip().endswith("0 error(s), 0 warning(s)")


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["certs", "check", "--out", str(tmp_path), *extra])
    return code, capsys.readouterr().out


def test_check_finds_a_stale_ca_bundle_in_the_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path / "old")
    generate(tmp_path / "new")
    stale = base64.b64encode((tmp_path / "old" / "ca-bundle.crt").read_bytes()).decode()
    manifests = webhook_manifest(
        tmp_path / "webhooks.yaml", "MutatingWebhookConfiguration", "mutate.podgate.io", stale
    )
    code, out = check(tmp_path / "new", capsys, "--manifests", str(manifests))
    assert code == 1
    assert (
        "error: MutatingWebhookConfiguration podgate: webhook mutate.podgate.io: caBundle does not hold"
        in out
    )


def test_check_finds_wrong_names_keys_and_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path, service="other", namespace="elsewhere", days=10)
    code, out = check(tmp_path, capsys)
    assert code == 1
    assert "error: serving certificate lacks the Service DNS name(s) podgate, podgate.podgate-system," in out
    assert "warning: serving certificate expires in 9 days" in out
    code, out = check(tmp_path, capsys, "--service", "other", "--namespace", "elsewhere")
    assert code == 0, out
    shutil.copy(tmp_path / "ca.key", tmp_path / "tls.key")
    code, out = check(tmp_path, capsys, "--service", "other", "--namespace", "elsewhere")
    assert code == 1
    assert "error: tls.key is not the key of tls.crt (serving pair mismatch)" in out


def test_check_finds_a_bundle_without_the_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    shutil.copy(tmp_path / "b" / "ca-bundle.crt", tmp_path / "a" / "ca-bundle.crt")
    code, out = check(tmp_path / "a", capsys)
    assert code == 1
    assert "error: ca-bundle.crt does not hold ca.crt" in out
    assert "error: serving certificate is not signed by any CA in the caBundle" in out


def test_check_verifies_the_served_certificate_by_service_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate(tmp_path)
    with tls_server(tmp_path / "tls.crt", tmp_path / "tls.key") as port:
        code, out = check(tmp_path, capsys, "--endpoint", f"127.0.0.1:{port}")
        assert code == 0, out
        assert f"ok: endpoint 127.0.0.1:{port} verified as {SERVICE_NAME}" in out
        code, out = check(
            tmp_path, capsys, "--endpoint", f"127.0.0.1:{port}", "--server-name", "evil.example.com"
        )
        assert code == 1
        assert "error: endpoint: 127.0.0.1:" in out and "evil.example.com" in out
    # A server still serving the previous certificate (not reloaded yet) is a warning, not an error.
    served = snapshot(tmp_path, tmp_path.parent / "served")
    main(["certs", "renew", "--out", str(tmp_path)])
    capsys.readouterr()
    with tls_server(served / "tls.crt", served / "tls.key") as port:
        code, out = check(tmp_path, capsys, "--endpoint", f"127.0.0.1:{port}")
    assert code == 0
    assert "warning: endpoint serves another certificate than tls.crt" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["certs", "check"], "missing; run `podgate certs generate` first"),
        (["certs", "renew"], "missing; run `podgate certs generate` first"),
        (["certs", "rotate", "begin"], "missing; run `podgate certs generate` first"),
        (["certs", "generate", "--days", "0"], "--days must be at least 1"),
        (["certs", "renew", "--service", "x"], "give both --service and --namespace"),
    ],
)
def test_usage_errors_name_the_problem(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path / "certs")]) == 2
    assert message in capsys.readouterr().err


def test_check_reports_a_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path)
    (tmp_path / "tls.crt").write_text("not a certificate\n")
    assert main(["certs", "check", "--out", str(tmp_path)]) == 2
    assert "tls.crt: not a PEM certificate" in capsys.readouterr().err


def test_a_lost_ca_key_is_recovered_by_a_rotation(tmp_path: Path) -> None:
    """certs/README.md: rotating needs only the current CA certificate, not its key."""
    generate(tmp_path)
    (tmp_path / "ca.key").unlink()
    with pytest.raises(CertificateError, match=r"ca\.key: missing"):
        renew(tmp_path)
    for step in ("begin", "switch", "finish"):
        rotate(tmp_path, step)
    assert (tmp_path / "ca.key").exists()
    assert api_server_accepts(tmp_path / "ca-bundle.crt", tmp_path)
