"""`podgate audit` and `podgate audit-verify` end to end: sources, formats, exit codes, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from audit_helpers import NO_ROOT, bad_pod, good_pod, write_policy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhook.cli import main


def _dump(tmp_path: Path, *objects: dict, name: str = "dump.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    return path


def test_exit_codes_follow_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = _dump(tmp_path, bad_pod("a"), good_pod("b"))
    assert main(["audit", "-p", str(NO_ROOT), str(dump)]) == 1
    assert "1 object(s) fail: 1 would be denied" in capsys.readouterr().out
    assert main(["audit", "-p", str(NO_ROOT), "--fail-on", "never", str(dump)]) == 0
    warn = write_policy(tmp_path / "warn", "warn-root", actions="[Warn]")
    assert main(["audit", "-p", str(warn), str(dump)]) == 0  # default --fail-on deny
    assert main(["audit", "-p", str(warn), "--fail-on", "warn", str(dump)]) == 1
    audit_only = write_policy(tmp_path / "audit", "audit-root", actions="[Audit]")
    assert main(["audit", "-p", str(audit_only), "--fail-on", "warn", str(dump)]) == 0
    assert main(["audit", "-p", str(audit_only), "--fail-on", "audit", str(dump)]) == 1
    assert main(["audit", "-p", str(NO_ROOT), str(_dump(tmp_path, good_pod("ok"), name="ok.json"))]) == 0


def test_default_policy_set_is_the_shipped_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(_dump(tmp_path, bad_pod("a")))]) == 1
    assert "[policy no-root]" in capsys.readouterr().out


def test_compare_fails_only_on_what_newly_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write_policy(tmp_path / "old", "no-root", excluded="[shop]")
    new = write_policy(tmp_path / "new", "no-root", excluded="[]")
    still = _dump(tmp_path, bad_pod("legacy", "web"), name="still.json")
    assert main(["audit", "--compare", str(old.parent), str(new.parent), str(still)]) == 0
    both = _dump(tmp_path, bad_pod("legacy", "web"), bad_pod("a", "shop"), name="both.json")
    capsys.readouterr()
    assert main(["audit", "--compare", str(old.parent), str(new.parent), str(both)]) == 1
    out = capsys.readouterr().out
    assert "Newly failing (would break when the new policy set is enforced): 1\n  Pod/shop/a" in out
    assert "Still failing: 1\n  Pod/web/legacy" in out
    assert main(["audit", "--compare", str(old.parent), str(new.parent), "-o", "json", str(both)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["compare"] == {
        "newlyFailing": ["Pod/shop/a"],
        "newlyPassing": [],
        "stillFailing": ["Pod/web/legacy"],
    }
    assert report["evidence"]["previousPolicySet"]["digest"] != report["evidence"]["policySet"]["digest"]


def test_stdin_yaml(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_dump_all([bad_pod("a"), good_pod("b")]).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["audit", "-p", str(NO_ROOT), "-o", "json", "-"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in report["results"]] == ["a"]
    assert report["evidence"]["inputs"][0]["source"] == "-"


@pytest.mark.parametrize("output", ["text", "json", "junit", "sarif", "policyreport"])
def test_every_format_to_a_file(tmp_path: Path, output: str) -> None:
    target = tmp_path / f"report.{output}"
    dump = _dump(tmp_path, bad_pod("a"))
    assert main(["audit", "-p", str(NO_ROOT), "-o", output, "--output-file", str(target), str(dump)]) == 1
    assert "Pod/shop/a" in target.read_text() or "name: a" in target.read_text()


def test_signed_report_verifies_and_an_edit_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "audit.key"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = tmp_path / "audit.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    report = tmp_path / "report.json"
    dump = _dump(tmp_path, bad_pod("a"))
    args = [
        "audit",
        "-p",
        str(NO_ROOT),
        "-o",
        "json",
        "--sign-key",
        str(private),
        "--output-file",
        str(report),
        str(dump),
    ]
    assert main(args) == 1
    assert main(["audit-verify", str(report), "--public-key", str(public)]) == 0
    assert "ok: " in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["evidence"]["inputs"] == [
        {
            "source": str(dump),
            "sha256": __import__("hashlib").sha256(dump.read_bytes()).hexdigest(),
            "bytes": dump.stat().st_size,
        }
    ]
    data["results"][0]["violations"] = []
    report.write_text(json.dumps(data))
    assert main(["audit-verify", str(report), "--public-key", str(public)]) == 1
    assert "does not match the content" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit"], "nothing to audit"),
        (["audit", "--cluster", "x.yaml"], "either manifest PATHs or --cluster"),
        (["audit", "-p", "P", "--compare", "A", "B", "x"], "either --policies or --compare"),
        (["audit", "-n", "shop", "x.yaml"], "--namespace only apply with --cluster"),
        (["audit", "-p", "/nonexistent/policies", "x"], "/nonexistent/policies: no such file or directory"),
        (["audit", "-p", str(NO_ROOT), "/nonexistent/dump.json"], "/nonexistent/dump.json: cannot read"),
        (
            ["audit", "-p", str(NO_ROOT), "--sign-key", str(NO_ROOT), "x"],
            "not an unencrypted PEM private key",
        ),
        (["audit-verify", str(NO_ROOT)], "not a JSON report"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_malformed_dump_names_file_document_and_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text("kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- metadata: {name: b}\n")
    assert main(["audit", "-p", str(NO_ROOT), str(path)]) == 2
    assert f"{path}: document 0: items[1]: kind: missing" in capsys.readouterr().err
