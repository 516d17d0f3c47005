"""The real webhook in a subprocess: gunicorn over TLS on 127.0.0.1, certificates made for the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from webhook.certs import CertFiles, write_certificates

LAUNCH = Path(__file__).resolve().parent / "launch.py"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certs(directory: Path) -> CertFiles:
    return write_certificates(directory, dns_names=["localhost"], ip_addresses=["127.0.0.1"])


class RunningServer:
    """`podgate serve` (with the test plugins) until `stop()`; `session` verifies the test CA."""

    def __init__(
        self,
        workdir: Path,
        policies: Sequence[Path],
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        certs: CertFiles | None = None,
        workers: int = 1,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.certs = certs or make_certs(workdir / "certs")
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        command = [sys.executable, str(LAUNCH), "serve", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--cert", str(self.certs.cert), "--key", str(self.certs.key), "--workers", str(workers)]
        for path in policies:
            command += ["--policies", str(path)]
        command += list(args)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PODGATE_", "PROMETHEUS_"))}
        full_env.update({"PODGATE_RELOAD_INTERVAL": "0.2", "KUBECONFIG": str(workdir / "no-kubeconfig")})
        full_env.update(env or {})
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=full_env, cwd=workdir)
        self.session = requests.Session()
        self.session.verify = str(self.certs.ca_cert)
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA; no proxies on loopback
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.stderr()}")
            try:
                if self.session.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s: {self.stderr()}")

    def post(self, endpoint: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.base}/{endpoint}", json=body, timeout=10, **kwargs)

    def get(self, endpoint: str) -> requests.Response:
        return self.session.get(f"{self.base}/{endpoint}", timeout=10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def stop(self) -> int:
        self.session.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def policy(name: str, *, check: str, actions: Sequence[str] = ("Deny",), **spec: Any) -> str:
    """A policy document as YAML text (JSON is YAML)."""
    import json

    body: dict[str, Any] = {
        "description": f"test policy {name}",
        "remediation": "fix it",
        "actions": list(actions),
        "rules": [{"check": check}],
        **spec,
    }
    return json.dumps(
        {"apiVersion": "podgate.io/v1alpha1", "kind": "Policy", "metadata": {"name": name}, "spec": body}
    )
