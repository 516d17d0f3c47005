"""Bad input at the HTTP layer, one table: each call gets its documented status and a clear message, and
the same worker keeps serving (no crash, no restart)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import POLICIES, shared_review
from webhook_support.server import RunningServer

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("bad-input"), [POLICIES])
    yield running
    running.stop()


def review_with(change: Any) -> bytes:
    review = shared_review("pod-create-kubectl-run.json")
    change(review)
    return json.dumps(review).encode()


def set_request(review: dict[str, Any], value: Any) -> None:
    review["request"] = value


def del_uid(review: dict[str, Any]) -> None:
    del review["request"]["uid"]


def set_object(review: dict[str, Any], value: Any) -> None:
    review["request"]["object"] = value


JSON = {"Content-Type": "application/json"}

# name -> (body, headers, status, words the error message must contain)
HTTP_ERRORS: dict[str, tuple[bytes, dict[str, str], int, str]] = {
    "not JSON": (b"{kind: AdmissionReview", JSON, 400, "not JSON"),
    "invalid UTF-8": (b'{"kind": "Admission\xffReview"}', JSON, 400, "not valid UTF-8"),
    "wrong content type": (
        review_with(lambda r: None),
        {"Content-Type": "text/plain"},
        415,
        "send application/json",
    ),
    "no content type": (review_with(lambda r: None), {"Content-Type": ""}, 415, "send application/json"),
    "empty body": (b"", JSON, 400, "body is empty"),
    "whitespace body": (b"  \n", JSON, 400, "body is empty"),
    "over the limit": (b'{"a": "' + b"x" * (3 * MiB) + b'"}', JSON, 413, "over the size limit"),
    "deeply nested": (b"[" * 5000 + b"]" * 5000, JSON, 400, "nested too deeply"),
    "a JSON array": (b"[]", JSON, 400, "got a JSON array"),
    "a JSON string": (b'"AdmissionReview"', JSON, 400, "got a JSON string"),
    "not an AdmissionReview": (
        b'{"kind": "Pod", "apiVersion": "v1"}',
        JSON,
        400,
        "expected 'AdmissionReview'",
    ),
    "unknown apiVersion": (
        review_with(lambda r: r.update(apiVersion="admission.k8s.io/v2")),
        JSON,
        400,
        "'admission.k8s.io/v2' is not supported",
    ),
    "request missing": (review_with(lambda r: r.pop("request")), JSON, 400, "request is missing"),
    "request not an object": (
        review_with(lambda r: set_request(r, "pod")),
        JSON,
        400,
        "request is a JSON string",
    ),
    "request null": (review_with(lambda r: set_request(r, None)), JSON, 400, "request is missing"),
    "uid missing": (review_with(del_uid), JSON, 400, "request.uid is missing"),
    "uid not a string": (review_with(lambda r: r["request"].update(uid=7)), JSON, 400, "request.uid"),
    "operation missing": (
        review_with(lambda r: r["request"].pop("operation")),
        JSON,
        400,
        "request.operation",
    ),
    "object is a list": (
        review_with(lambda r: set_object(r, [])),
        JSON,
        400,
        "request.object is a JSON array",
    ),
    "object is a string": (
        review_with(lambda r: set_object(r, "pod")),
        JSON,
        400,
        "request.object is a JSON string",
    ),
    "oldObject is a number": (
        review_with(lambda r: r["request"].update(oldObject=1)),
        JSON,
        400,
        "request.oldObject is a JSON number",
    ),
    "namespace not a string": (
        review_with(lambda r: r["request"].update(namespace=["a"])),
        JSON,
        400,
        "request.namespace is a JSON array",
    ),
}


@pytest.mark.parametrize("name", list(HTTP_ERRORS))
@pytest.mark.parametrize("endpoint", ["validate", "mutate"])
def test_bad_calls_get_a_status_and_a_clear_message(server: RunningServer, name: str, endpoint: str) -> None:
    body, headers, status, words = HTTP_ERRORS[name]
    workers = server.worker_pids()
    reply = server.session.post(f"{server.base}/{endpoint}", data=body, headers=headers, timeout=10)
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    error = reply.json()
    assert error["status"] == status
    assert words in error["error"]
    assert "Traceback" not in reply.text
    assert server.get("healthz").status_code == 200
    assert server.worker_pids() == workers  # the same worker is still serving


def test_an_over_limit_chunked_body_is_refused_too(server: RunningServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(4):
            yield b"x" * MiB
        yield b'"}'

    reply = server.session.post(f"{server.base}/validate", data=chunks(), headers=JSON, timeout=10)
    assert reply.status_code == 413, reply.text
    assert server.get("healthz").status_code == 200


def test_other_methods_and_paths_are_json_errors(server: RunningServer) -> None:
    reply = server.get("validate")
    assert reply.status_code == 405 and "method GET is not allowed" in reply.json()["error"]
    reply = server.get("nope")
    assert reply.status_code == 404 and "no such endpoint /nope" in reply.json()["error"]


def container_with(**fields: Any) -> Any:
    def change(review: dict[str, Any]) -> None:
        review["request"]["object"]["spec"]["containers"][0].update(fields)

    return change


# Wrong-typed pod fields: a well-formed AdmissionReview answer, a denial naming the field; never an allow.
MALFORMED_PODS = {
    "string where a bool belongs": (
        container_with(securityContext={"privileged": "true"}),
        "securityContext.privileged",
    ),
    "list where a map belongs": (container_with(securityContext=[]), "spec.containers[0].securityContext"),
    "map where a list belongs": (container_with(ports={"containerPort": 80}), "spec.containers[0].ports"),
    "huge number": (container_with(securityContext={"runAsUser": 10**30}), "securityContext.runAsUser"),
    "string where a number belongs": (
        container_with(securityContext={"runAsUser": "0"}),
        "securityContext.runAsUser",
    ),
    "containers not a list": (
        lambda r: r["request"]["object"]["spec"].update(containers="web"),
        "spec.containers",
    ),
    "container not a map": (
        lambda r: r["request"]["object"]["spec"].update(containers=["web"]),
        "spec.containers[0]",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED_PODS))
def test_a_malformed_pod_spec_is_a_denial_that_names_the_field(server: RunningServer, name: str) -> None:
    change, field = MALFORMED_PODS[name]
    review = json.loads(review_with(change))
    reply = server.session.post(f"{server.base}/validate", data=json.dumps(review), headers=JSON, timeout=10)
    assert reply.status_code == 200, reply.text
    response = reply.json()["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is False
    assert field in response["status"]["message"]


def test_unicode_everywhere_is_judged_normally(server: RunningServer) -> None:
    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["object"]["metadata"]["name"] = "wëb-🚀"
    review["request"]["object"]["spec"]["containers"][0]["name"] = "ürümqi\u202e"
    reply = server.post("validate", review)
    response = reply.json()["response"]
    assert response["allowed"] is False and "ürümqi" in response["status"]["message"]


def test_a_call_after_all_that_is_still_answered(server: RunningServer) -> None:
    review = shared_review("deployment-create.json")
    reply = server.post("validate", review)
    assert reply.status_code == requests.codes.ok
    assert reply.json()["response"]["uid"] == review["request"]["uid"]  # judged normally (by every policy)
