"""Fuzz the running server from its OpenAPI description (docs/openapi.yaml) with schemathesis.

Positive cases (reviews that fit the schema, with arbitrary objects) must get 200 and a response that
fits the schema; negative cases (anything that does not fit) must get a documented 4xx with a JSON
error. Never a 5xx, and the worker keeps serving.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from conftest import POLICIES, ROOT
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from webhook_support.server import RunningServer

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# GET endpoints take no input: there is nothing to break, so no negative cases for them.
CASES = [
    ("/validate", "POST", POSITIVE),
    ("/validate", "POST", NEGATIVE),
    ("/mutate", "POST", POSITIVE),
    ("/mutate", "POST", NEGATIVE),
    ("/healthz", "GET", POSITIVE),
    ("/readyz", "GET", POSITIVE),
    ("/metrics", "GET", POSITIVE),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("fuzz"), [POLICIES])
    yield running
    running.stop()


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_the_api_holds_to_its_description(
    server: RunningServer, path: str, method: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
    operation = schema[path][method]
    workers = server.worker_pids()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(
            base_url=server.base, session=server.session, verify=server.session.verify, timeout=10
        )
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["status"] == response.status_code
        else:
            case.validate_response(response)

    check()
    assert server.worker_pids() == workers
