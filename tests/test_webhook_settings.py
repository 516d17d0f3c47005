"""Settings from PODGATE_* variables and `serve` flags; `podgate serve` refuses what cannot serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.cli import main
from webhook.settings import Settings, SettingsError, from_env, shipped_policies


def test_defaults_are_the_secure_ones() -> None:
    s = Settings()
    assert s.mode == "enforce" and not s.insecure_plaintext and not s.log_bodies
    assert s.policies == (shipped_policies(),) and (shipped_policies() / "no-root.yaml").is_file()
    assert s.keepalive > 90  # the API server's idle timeout: it closes idle connections, not us
    assert 0 < s.deadline_ms < 10_000  # below the API server's default webhook timeout


def test_environment_variables() -> None:
    s = from_env(
        {
            "PODGATE_MODE": "dry-run",
            "PODGATE_WORKERS": "3",
            "PODGATE_POLICIES": "/a:/b",
            "PODGATE_CERT": "/c/tls.crt",
            "PODGATE_LOG_BODIES": "true",
            "PODGATE_RELOAD_INTERVAL": "0.5",
        }
    )
    assert s.mode == "dry-run" and s.workers == 3 and s.log_bodies and s.reload_interval == 0.5
    assert s.policies == (Path("/a"), Path("/b")) and s.cert == Path("/c/tls.crt")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PODGATE_WORKERS": "two"}, "PODGATE_WORKERS='two' is not an integer"),
        ({"PODGATE_LOG_BODIES": "maybe"}, "is not a boolean"),
    ],
)
def test_bad_environment_values_are_named(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        from_env(env)


def test_serve_without_a_certificate_says_how_to_get_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "TLS needs a certificate and a key" in err and "--dev" in err


def test_serve_rejects_a_bad_mode_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PODGATE_MODE", "audit")
    assert main(["serve", "--insecure-plaintext"]) == 2
    assert "mode 'audit' is not one of enforce, dry-run" in capsys.readouterr().err


def test_serve_refuses_a_broken_policy_set_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: podgate.io/v1alpha1\nkind: Policy\nmetadata: {name: x}\n")
    assert main(["serve", "--insecure-plaintext", "--policies", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to start: the policies do not load" in err
    assert "bad.yaml: document 0" in err


def test_serve_refuses_an_unreadable_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tls.crt").write_text("not a certificate")
    (tmp_path / "tls.key").write_text("not a key")
    assert main(["serve", "--cert", str(tmp_path / "tls.crt"), "--key", str(tmp_path / "tls.key")]) == 2
    assert "cannot load the TLS certificate" in capsys.readouterr().err
