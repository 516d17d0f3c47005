"""The held-pod cache against a loopback API server: list, watch, label removal, failures."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import shared_review
from incident_fixtures import RESPONDER, SIGNATURE, incident_review, request_of, shipped, with_user
from kube_loopback import CLOSE, KubeLoopback, serving, status, wait_for

from webhook.held_pods import SELECTOR, HeldPodCache
from webhook.policy import evaluate

PODS = "/api/v1/pods"


def api_pod(name: str, namespace: str = "shop", rv: str = "100", held: bool = True) -> dict[str, Any]:
    labels = {"app": name, **({"podgate.io/hold": "true"} if held else {})}
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "resourceVersion": rv,
            "creationTimestamp": "2026-12-01T22:10:04Z",
            "labels": labels,
            "annotations": dict(SIGNATURE) if held else {},
        },
        "spec": {
            "containers": [{"name": name, "image": "registry.example.com/shop/web:1.4.2", "resources": {}}],
            "restartPolicy": "Always",
            "nodeName": "worker-1",
        },
        "status": {"phase": "Running", "podIP": "10.244.1.17"},
    }


def event(kind: str, pod: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": {"kind": "Pod", "apiVersion": "v1", **pod}}


def pod_list(*pods: dict[str, Any], rv: str = "100") -> tuple[int, dict[str, Any]]:
    return 200, {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv},
        "items": list(pods),
    }


@pytest.fixture
def kube() -> Iterator[KubeLoopback]:
    with serving() as loop:
        yield loop


@pytest.fixture
def cache(kube: KubeLoopback) -> Iterator[tuple[HeldPodCache, queue.Queue[Any]]]:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = kube.url
    events = kube.watch(PODS)
    held = HeldPodCache(
        client.CoreV1Api(client.ApiClient(configuration)), resync_seconds=3600, backoff_seconds=0.05
    )
    yield held, events
    stopper = threading.Thread(target=held.stop)
    stopper.start()
    wait_for(lambda: held._stopping.is_set())
    events.put(CLOSE)
    stopper.join(timeout=5)
    assert not stopper.is_alive()


def test_list_then_watch_keeps_the_held_pods(
    kube: KubeLoopback, cache: tuple[HeldPodCache, queue.Queue[Any]]
) -> None:
    held, events = cache
    kube.answer("GET", PODS, pod_list(api_pod("web")))
    assert held.target_metadata("shop", "web") is None  # not started: unknown
    held.start()
    assert held.wait_synced(5)
    (list_call,) = [c for c in kube.calls_to("GET", PODS) if "watch" not in c.query]
    assert list_call.query["labelSelector"] == [SELECTOR]  # only held pods travel
    (watch_call,) = [c for c in kube.calls_to("GET", PODS) if "watch" in c.query]
    assert watch_call.query["resourceVersion"] == ["100"]  # the watch resumes where the list ended
    assert held.target_metadata("shop", "web")["labels"]["podgate.io/hold"] == "true"  # type: ignore[index]
    assert held.target_metadata("shop", "db") == {"name": "db", "namespace": "shop"}

    events.put(event("ADDED", api_pod("db", rv="101")))
    assert wait_for(lambda: "podgate.io/hold" in (held.target_metadata("shop", "db") or {}).get("labels", {}))
    events.put(event("DELETED", api_pod("web", rv="102", held=False)))  # the label was removed
    assert wait_for(lambda: held.target_metadata("shop", "web") == {"name": "web", "namespace": "shop"})
    assert [m["name"] for m in held.held()] == ["db"]

    # The engine sees what the cache knows.
    review = incident_review("pod-connect-exec.json")
    review["request"]["name"] = "db"
    policies = shipped("forensic-hold")
    request = held.complete(request_of(review))
    assert request.target_metadata is not None and not evaluate(policies, request).allowed
    assert evaluate(policies, held.complete(request_of(with_user(review, RESPONDER)))).allowed
    review["request"]["name"] = "web"
    assert evaluate(policies, held.complete(request_of(review))).allowed
    # Requests that carry their object are left alone.
    delete = request_of(shared_review("pod-delete.json"))
    assert held.complete(delete) is delete


def test_an_api_server_that_fails_leaves_holds_unknown_until_it_recovers(
    kube: KubeLoopback, cache: tuple[HeldPodCache, queue.Queue[Any]]
) -> None:
    held, _ = cache
    failing = {"on": True}

    def route(call: Any) -> Any:
        if failing["on"]:
            return status(503, "ServiceUnavailable", "etcdserver: leader changed")
        return pod_list(api_pod("web"))

    kube.answer("GET", PODS, route)
    held.start()
    assert wait_for(lambda: len(kube.calls_to("GET", PODS)) >= 2)  # it retries, backing off
    assert not held.synced and held.target_metadata("shop", "web") is None
    decision = evaluate(
        shipped("forensic-hold"), held.complete(request_of(incident_review("pod-connect-exec.json")))
    )
    assert not decision.allowed and "has not synced" in decision.violations[0].message
    failing["on"] = False
    assert held.wait_synced(5)
    assert held.target_metadata("shop", "web") is not None


def test_an_expired_watch_relists_and_drops_holds_lifted_meanwhile(
    kube: KubeLoopback, cache: tuple[HeldPodCache, queue.Queue[Any]]
) -> None:
    held, events = cache
    answers = [pod_list(api_pod("web"), api_pod("db")), pod_list(api_pod("db"), rv="250")]
    kube.answer("GET", PODS, lambda call: answers.pop(0) if len(answers) > 1 else answers[0])
    held.start()
    assert held.wait_synced(5)
    assert sorted(m["name"] for m in held.held()) == ["db", "web"]
    unsynced: list[bool] = []
    held._informer.add_event_handler("ERROR", lambda error: unsynced.append(held.synced))
    # The API server's answer when the watch's resourceVersion is too old (etcd compacted it).
    gone = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 100 (240)",
        "reason": "Expired",
        "code": 410,
    }
    events.put({"type": "ERROR", "object": gone})
    assert wait_for(lambda: [m["name"] for m in held.held()] == ["db"])
    assert unsynced == [False]  # between the error and the new list, holds were "unknown"
    lists = [c for c in kube.calls_to("GET", PODS) if "watch" not in c.query]
    assert len(lists) == 2
    last_watch = [c for c in kube.calls_to("GET", PODS) if "watch" in c.query][-1]
    assert last_watch.query["resourceVersion"] == ["250"]
    assert held.target_metadata("shop", "web") == {"name": "web", "namespace": "shop"}
