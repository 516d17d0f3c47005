"""The real server: gunicorn over TLS on loopback, a CA-verifying client, every shared sample review.

One server for the module (starting gunicorn costs seconds): the shipped no-root policy plus test
policies for Warn/Audit, namespace selectors, the deadline and a mutation; namespace labels come from a
loopback API server.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pyjsonpatch
import pytest
import requests
from conftest import POLICIES, SHARED_FIXTURES, shared_review
from kube_loopback import CLOSE, KubeLoopback, namespace, object_list, serving
from webhook_support.server import RunningServer, policy

DEADLINE_MS = 400
NAMESPACES = {
    "default": {},
    "shop": {"team": "restricted"},
    "batch": {},
    "monitoring": {},
    "rollout": {"podgate.io/mode": "dry-run"},
}


@pytest.fixture(scope="module")
def kube() -> Iterator[KubeLoopback]:
    with serving() as loop:
        listed = [namespace(name, labels, i + 1) for i, (name, labels) in enumerate(NAMESPACES.items())]
        loop.answer("GET", "/api/v1/namespaces", object_list("Namespace", listed, "100"))
        events = loop.watch("/api/v1/namespaces")  # open and quiet: the labels do not change here
        yield loop
        for _ in range(4):  # one per watching worker, and spares for re-watches
            events.put(CLOSE)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, kube: KubeLoopback) -> Iterator[RunningServer]:
    work = tmp_path_factory.mktemp("server")
    policies = work / "policies"
    policies.mkdir()
    shutil.copy(POLICIES / "no-root.yaml", policies / "no-root.yaml")
    (policies / "aa-slow.yaml").write_text(policy("aa-slow", check="test-slow"))
    (policies / "latest-tag.yaml").write_text(
        policy("latest-tag", check="test-latest-tag", actions=["Warn", "Audit"])
    )
    (policies / "restricted.yaml").write_text(
        policy(
            "restricted-latest",
            check="test-latest-tag",
            failurePolicy="Ignore",
            match={"namespaceSelector": {"matchLabels": {"team": "restricted"}}},
        )
    )
    (policies / "zz-managed-by.yaml").write_text(
        policy(
            "zz-managed-by", check="test-slow", actions=["Audit"], mutations=[{"mutator": "test-managed-by"}]
        )
    )
    running = RunningServer(
        work,
        [policies],
        args=[
            "--kube-api",
            kube.url,
            "--deadline-ms",
            str(DEADLINE_MS),
            "--decision-log",
            str(work / "decisions.jsonl"),
        ],
        workers=2,
    )
    deadline = time.monotonic() + 20  # both workers list the namespaces before the tests start
    while sum("watch" not in c.query for c in kube.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    yield running
    running.stop()


def response_of(reply: requests.Response, review: dict[str, Any]) -> dict[str, Any]:
    """The protocol checks every answer must pass, then the `response` object."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["apiVersion"] == review["apiVersion"]
    assert body["kind"] == "AdmissionReview"
    response = body["response"]
    assert response["uid"] == review["request"]["uid"]
    assert ("patch" in response) == ("patchType" in response)
    for warning in response.get("warnings", []):
        assert len(warning) <= 256 and "\n" not in warning
    return dict(response)


# fixture -> (allowed, the container the denial must name); the kubectl-debug UPDATE is judged in full
EXPECTED = {
    "configmap-create-not-a-pod.json": (True, None),
    "cronjob-create.json": (False, 'container "backup" (spec.jobTemplate.spec.template.spec.containers[0])'),
    "daemonset-create.json": (False, 'container "agent" (spec.template.spec.containers[0])'),
    "deployment-create.json": (True, None),
    "deployment-update-image.json": (True, None),
    "job-create.json": (False, 'container "report" (spec.template.spec.containers[0])'),
    "pod-create-by-replicaset-controller.json": (True, None),
    "pod-create-kubectl-run-dry-run.json": (False, 'container "web" (spec.containers[0])'),
    "pod-create-kubectl-run.json": (False, 'container "web" (spec.containers[0])'),
    "pod-create-v1beta1.json": (False, 'container "web" (spec.containers[0])'),
    "pod-delete.json": (True, None),
    "pod-update-ephemeralcontainers-kubectl-debug.json": (
        False,
        'ephemeral container "debugger-8hx2q" (spec.ephemeralContainers[0])',
    ),
    "statefulset-create.json": (False, 'container "postgres" (spec.template.spec.containers[0])'),
}


def test_every_shared_sample_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in SHARED_FIXTURES.glob("*.json"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_answers_every_shared_sample(server: RunningServer, name: str) -> None:
    review = shared_review(name)
    allowed, named = EXPECTED[name]
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is allowed
    assert "patch" not in response and "patchType" not in response  # validating answers never patch
    if allowed:
        assert "status" not in response
    else:
        assert response["status"]["code"] == 403
        assert response["status"]["message"].startswith("podgate denied the request")
        assert named in response["status"]["message"]
        assert "[policy no-root]" in response["status"]["message"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mutate_patches_apply_independently_and_are_idempotent(server: RunningServer, name: str) -> None:
    review = shared_review(name)
    response = response_of(server.post("mutate", review), review)
    assert response["allowed"] is True and "status" not in response
    request = review["request"]
    judged = request["operation"] in ("CREATE", "UPDATE") and request.get("subResource") in (
        None,
        "",
        "ephemeralcontainers",
    )
    if name == "configmap-create-not-a-pod.json" or not judged:
        assert "patch" not in response
        return
    if request.get("subResource") == "ephemeralcontainers":
        # A running pod is immutable but for the ephemeral containers being added: nothing else is patched.
        patch = json.loads(base64.b64decode(response["patch"])) if "patch" in response else []
        assert all(op["path"].startswith("/spec/ephemeralContainers/") for op in patch), patch
        return
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    patched = pyjsonpatch.apply_patch(copy.deepcopy(request["object"]), patch).obj
    template = patched
    for key in {"Pod": [], "CronJob": ["spec", "jobTemplate", "spec", "template"]}.get(
        request["kind"]["kind"], ["spec", "template"]
    ):
        template = template[key]
    assert template["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "podgate"
    # Mutating the mutated object changes nothing (reinvocationPolicy: IfNeeded).
    again = copy.deepcopy(review)
    again["request"]["object"] = patched
    assert "patch" not in response_of(server.post("mutate", again), again)
    # The mutated object is re-validated: the pod-level runAsNonRoot the mutation set is honoured.
    validated = response_of(server.post("validate", again), again)
    assert "runAsNonRoot to true" not in validated.get("status", {}).get("message", "")


def test_v1beta1_is_answered_in_v1beta1(server: RunningServer) -> None:
    review = shared_review("pod-create-v1beta1.json")
    reply = server.post("validate", review)
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1beta1"


def test_warn_and_audit_actions_reach_the_response(server: RunningServer) -> None:
    review = shared_review("deployment-create.json")
    review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    review["request"]["namespace"] = "default"
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is True
    assert any("floating tag" in w and "[policy latest-tag]" in w for w in response["warnings"])
    assert "floating tag" in response["auditAnnotations"]["latest-tag"]


def test_namespace_selector_uses_the_watched_labels(server: RunningServer) -> None:
    review = shared_review("deployment-create.json")  # compliant with no-root
    review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    review["request"]["namespace"] = "shop"  # team=restricted: restricted-latest applies and denies
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is False
    assert "[policy restricted-latest]" in response["status"]["message"]
    review["request"]["namespace"] = "batch"  # no such label: only the warning
    assert response_of(server.post("validate", review), review)["allowed"] is True


def test_a_namespace_labelled_dry_run_never_denies(server: RunningServer) -> None:
    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["namespace"] = "rollout"
    review["request"]["object"]["metadata"]["namespace"] = "rollout"
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is True and "status" not in response
    assert any(
        w.startswith("[dry-run] would deny:") and "[policy no-root]" in w for w in response["warnings"]
    )
    assert "no-root" in response["auditAnnotations"]["would-deny"]


def test_update_denies_only_what_it_introduces(server: RunningServer) -> None:
    review = shared_review("deployment-update-image.json")
    for obj in (review["request"]["object"], review["request"]["oldObject"]):  # a legacy Deployment
        obj["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
    assert response_of(server.post("validate", review), review)["allowed"] is True  # scaling/images: allowed
    introduced = copy.deepcopy(review)
    introduced["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "runAsUser"
    ] = 0
    response = response_of(server.post("validate", introduced), introduced)
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert "(1 violation)" in message and "must not run as user 0" in message
    assert "runAsNonRoot" not in message  # the violation the old object already had stays allowed


def test_request_dry_run_is_judged_the_same_and_logged_as_such(server: RunningServer) -> None:
    review = shared_review("pod-create-kubectl-run-dry-run.json")
    assert review["request"]["dryRun"] is True
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is False
    entries = [json.loads(line) for line in (server.workdir / "decisions.jsonl").read_text().splitlines()]
    mine = [e for e in entries if e["uid"] == review["request"]["uid"]]
    assert mine and all(e["dryRun"] is True for e in mine)


def test_the_deadline_fails_closed_per_policy(server: RunningServer) -> None:
    review = shared_review("deployment-create.json")  # allowed when judged in time
    review["request"]["object"]["spec"]["template"]["metadata"]["labels"]["podgate-test/slow"] = str(
        DEADLINE_MS * 1.5 / 1000
    )
    started = time.monotonic()
    response = response_of(server.post("validate", review), review)
    assert time.monotonic() - started < 2 * DEADLINE_MS / 1000 + 1
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert (
        f"{DEADLINE_MS} ms deadline" in message
        and "failurePolicy is Fail" in message
        and "no-root" in message
    )


def test_malformed_pod_spec_is_a_clear_denial(server: RunningServer) -> None:
    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["object"]["spec"]["containers"][0]["securityContext"] = {"privileged": "yes"}
    response = response_of(server.post("validate", review), review)
    assert response["allowed"] is False
    assert "spec.containers[0].securityContext.privileged" in response["status"]["message"]


def test_warnings_stay_within_the_api_servers_limits(server: RunningServer) -> None:
    review = shared_review("deployment-create.json")
    spec = review["request"]["object"]["spec"]["template"]["spec"]
    spec["containers"] = [{"name": f"c{i}-" + "x" * 200, "image": "nginx"} for i in range(60)]
    response = response_of(server.post("validate", review), review)
    warnings = response["warnings"]
    assert sum(len(w.encode()) for w in warnings) <= 4096
    assert "more warning(s) left out" in warnings[-1]
    assert all(len(v) <= 1024 for v in response["auditAnnotations"].values())


def test_health_readiness_and_metrics(server: RunningServer) -> None:
    assert server.get("healthz").json() == {"status": "ok"}
    ready = server.get("readyz").json()
    assert ready["ready"] is True and ready["missing"] == [] and ready["degraded"] == []
    assert ready["policies"] == ["aa-slow", "latest-tag", "no-root", "restricted-latest", "zz-managed-by"]
    metrics = server.get("metrics").text
    for name in (
        'podgate_requests_total{decision="deny",dry_run="false",endpoint="validate"',
        'podgate_request_duration_seconds_bucket{endpoint="validate",le="0.00025"}',
        'podgate_violations_total{action="Deny",policy="no-root"}',
        'podgate_would_deny_total{policy="no-root"}',
        "podgate_certificate_expiry_timestamp_seconds",
        'podgate_policy_reloads_total{result="success"}',
    ):
        assert name in metrics, name


def test_metrics_add_up_over_workers(server: RunningServer) -> None:
    def healthz_count() -> float:
        text = server.get("metrics").text
        lines = [
            line
            for line in text.splitlines()
            if line.startswith(
                'podgate_requests_total{decision="allow",dry_run="false",endpoint="mutate",kind="ConfigMap"'
            )
        ]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines)

    before = healthz_count()
    review = shared_review("configmap-create-not-a-pod.json")
    for _ in range(20):  # new connections, spread over both workers
        requests.post(f"{server.base}/mutate", json=review, verify=server.session.verify, timeout=10)
    assert healthz_count() - before == 20


def test_keep_alive_reuses_one_tls_connection(server: RunningServer) -> None:
    context = ssl.create_default_context(cafile=str(server.certs.ca_cert))
    connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=10)
    connection.connect()
    first = connection.sock
    assert first.version() in ("TLSv1.2", "TLSv1.3")
    for _ in range(3):
        connection.request("GET", "/healthz")
        reply = connection.getresponse()
        assert reply.status == 200 and reply.read() == b'{"status":"ok"}'
        assert reply.getheader("Connection", "").lower() != "close"
        assert connection.sock is first  # the same TLS connection: no new handshake
    connection.close()


def test_decision_log_has_one_line_per_decision_and_verifies(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook.cli import main

    review = shared_review("pod-create-kubectl-run.json")
    review["request"]["uid"] = "decision-log-uid"
    server.post("validate", review)
    path = server.workdir / "decisions.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    entry = next(e for e in entries if e["uid"] == "decision-log-uid")
    assert entry["user"] == "kubernetes-admin" and entry["operation"] == "CREATE" and entry["kind"] == "Pod"
    assert entry["namespace"] == "default" and entry["name"] == "web" and entry["allowed"] is False
    assert entry["outcomes"]["no-root"] == "fail" and entry["mode"] == "enforce"
    assert any(
        json.loads(line)["uid"] == "decision-log-uid"
        for line in server.stdout().splitlines()
        if line.startswith("{")
    )
    assert main(["log", "verify", str(path)]) == 0
    assert "ok:" in capsys.readouterr().out
