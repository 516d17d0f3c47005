"""Secure defaults of the running webhook, checked in its logs and on its port.

- request bodies never reach a log unless asked (PODGATE_LOG_BODIES), valid or not;
- the private key, the decision-log HMAC key and secrets inside pod specs never reach a log;
- the TLS port answers nothing to plain HTTP.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import POLICIES, shared_review
from webhook_support.server import RunningServer

MARKER = "s3cr3t-m4rker-0f-th3-b0dy"
HMAC_KEY = "hmac-key-that-must-stay-private-7f3a"


def review_with_secrets() -> dict[str, Any]:
    review = shared_review("pod-create-kubectl-run.json")
    pod = review["request"]["object"]
    pod["metadata"].setdefault("annotations", {})["example.com/token"] = MARKER
    container = pod["spec"]["containers"][0]
    container["env"] = [{"name": "PASSWORD", "value": MARKER}]
    container["args"] = [f"--password={MARKER}"]
    return review


def exercise(server: RunningServer) -> None:
    """Valid reviews on both endpoints, and bad calls carrying the marker."""
    review = review_with_secrets()
    assert server.post("validate", review).json()["response"]["allowed"] is False
    assert server.post("mutate", review).status_code == 200
    broken = json.dumps(review)[:-10] + MARKER  # not JSON any more
    headers = {"Content-Type": "application/json"}
    assert (
        server.session.post(f"{server.base}/validate", data=broken, headers=headers, timeout=10).status_code
        == 400
    )
    wrong_type = shared_review("pod-create-kubectl-run.json")
    wrong_type["request"]["object"]["spec"]["containers"][0]["securityContext"] = {"privileged": MARKER}
    assert server.post("validate", wrong_type).json()["response"]["allowed"] is False
    without_uid = review_with_secrets()
    del without_uid["request"]["uid"]
    assert server.post("validate", without_uid).status_code == 400


def logs(server: RunningServer, decision_log: Path) -> str:
    server.stop()  # flushes everything
    return server.stdout() + server.stderr() + decision_log.read_text()


def key_material(key_file: Path) -> list[str]:
    """The PEM header and every line of the key's base64 body: none may appear in a log."""
    lines = key_file.read_text().strip().splitlines()
    body = [line for line in lines if not line.startswith("-----")]
    raw = base64.b64decode("".join(body))
    return ["PRIVATE KEY", *body, raw.hex()[:32]]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


def test_bodies_and_secrets_never_reach_the_logs_by_default(run_dir: Path) -> None:
    decision_log = run_dir / "decisions.jsonl"
    server = RunningServer(
        run_dir,
        [POLICIES / "no-root.yaml"],
        args=["--decision-log", str(decision_log)],
        env={"PODGATE_DECISION_LOG_KEY": HMAC_KEY},
    )
    try:
        exercise(server)
    finally:
        text = logs(server, decision_log)
    assert text.count('"allowed":false') >= 2  # the decisions were logged, just not what they judged
    assert MARKER not in text
    assert HMAC_KEY not in text
    for secret in key_material(server.certs.key):
        assert secret not in text


def test_bodies_are_logged_only_when_asked(run_dir: Path) -> None:
    decision_log = run_dir / "decisions.jsonl"
    server = RunningServer(
        run_dir,
        [POLICIES / "no-root.yaml"],
        args=["--decision-log", str(decision_log)],
        env={"PODGATE_LOG_BODIES": "true"},
    )
    try:
        exercise(server)
    finally:
        text = logs(server, decision_log)
    assert MARKER in server.stderr()  # the flag works: the operator asked for the bodies
    assert MARKER not in decision_log.read_text()  # the tamper-evident record never holds them
    for secret in key_material(server.certs.key):
        assert secret not in text


def test_the_tls_port_answers_nothing_to_plain_http(run_dir: Path) -> None:
    server = RunningServer(run_dir, [POLICIES / "no-root.yaml"])
    try:
        session = requests.Session()
        session.trust_env = False
        plain = server.base.replace("https://", "http://")
        with pytest.raises(requests.ConnectionError):
            session.post(f"{plain}/validate", json=shared_review("pod-create-kubectl-run.json"), timeout=10)
        assert server.post("validate", shared_review("pod-create-kubectl-run.json")).status_code == 200
    finally:
        server.stop()
    assert "plain HTTP" not in server.stderr()
