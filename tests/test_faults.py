"""Faults under load, the short variant of bench/faults.py (same scenarios, seconds instead of a minute).

The real server (gunicorn over TLS on 127.0.0.1, 2 workers), a CA-verifying keep-alive client paced at
70 % of the maximum measured here, and one fault per test. The figures of the full run are in
docs/security.md; here only the promises are checked.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "faults.py"
CONNECTIONS = 4
FAULT_SECONDS = 3.0


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("podgate_bench_faults", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


faults = _load_bench()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with faults.running_server(tmp_path_factory.mktemp("faults")) as running:
        yield running


@pytest.fixture(scope="module")
def rate(server: Any) -> float:
    figures, problems = faults.measure_max(server, CONNECTIONS, 1.5)
    assert problems == [] and figures["max_rps"] > 10, figures
    return float(figures["max_rps"]) * 0.7


def check(result: tuple[dict[str, Any], list[str]]) -> dict[str, Any]:
    figures, problems = result
    assert problems == [], f"{problems} ({figures})"
    return figures


def test_sustained_load_at_70_percent_has_no_error_and_flat_memory(server: Any, rate: float) -> None:
    # A few seconds on a shared 2-core machine: the pace is checked loosely here, tightly in the bench.
    figures = check(faults.sustained(server, CONNECTIONS, rate, 4.0, min_achieved=0.5))
    assert figures["errors"] == 0 and figures["requests"] > 0


def test_pathological_input_is_answered_within_the_deadline(server: Any, rate: float) -> None:
    figures = check(faults.pathological(server, CONNECTIONS, rate, containers=1000, long_string=500_000))
    assert figures["1000 containers"]["status"] == 200


def test_sigkill_of_a_worker_fails_only_its_requests(server: Any, rate: float) -> None:
    before = server.worker_pids()
    figures = check(faults.sigkill_worker(server, CONNECTIONS, rate, FAULT_SECONDS))
    assert figures["failed"] <= CONNECTIONS
    assert server.worker_pids() != before and len(server.worker_pids()) == len(before)


def test_sigterm_lets_in_flight_requests_complete(tmp_path: Path, rate: float) -> None:
    server = faults.Server(tmp_path)
    try:
        figures = check(faults.sigterm_under_load(server, CONNECTIONS, rate, containers=2000))
    finally:
        server.stop()
    assert figures["requests_before_signal"] > 0 and figures["exit_code"] == 0


def test_certificate_rotation_under_load_fails_no_request(tmp_path: Path, rate: float) -> None:
    with faults.running_server(tmp_path) as server:
        figures = check(faults.cert_rotation(server, CONNECTIONS, rate, FAULT_SECONDS))
    assert figures["new_handshakes"] > 0


def test_a_broken_policy_file_under_load_keeps_the_last_good_set(tmp_path: Path, rate: float) -> None:
    with faults.running_server(tmp_path, reload_interval=0.2) as server:
        figures = check(faults.broken_policy(server, CONNECTIONS, rate, FAULT_SECONDS))
    assert "zz-broken.yaml" in figures["degraded"][0]
