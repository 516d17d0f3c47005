"""The namespace-label cache against a loopback API server speaking the real list/watch JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kube_loopback import CLOSE, namespace, object_list, serving
from webhook_support.server import free_port

from webhook.namespaces import NamespaceCache, api_client

NAMESPACES = "/api/v1/namespaces"


def wait_until(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_lists_then_follows_the_watch() -> None:
    with serving() as kube:
        listed = [namespace("shop", {"team": "restricted"}, 1), namespace("default", {}, 2)]
        kube.answer("GET", NAMESPACES, object_list("Namespace", listed, "100"))
        events = kube.watch(NAMESPACES)
        cache = NamespaceCache(api_client(kube.url))
        try:
            assert cache.labels("shop") is None  # not synced yet: unknown, never "no labels"
            cache.start()
            wait_until(lambda: cache.synced)
            assert cache.labels("shop") == {"kubernetes.io/metadata.name": "shop", "team": "restricted"}
            assert cache.labels("absent") is None
            events.put({"type": "ADDED", "object": namespace("rollout", {"podgate.io/mode": "dry-run"}, 101)})
            wait_until(lambda: cache.labels("rollout"))
            assert cache.labels("rollout") == {
                "kubernetes.io/metadata.name": "rollout",
                "podgate.io/mode": "dry-run",
            }
            events.put({"type": "MODIFIED", "object": namespace("shop", {"team": "open"}, 102)})
            wait_until(lambda: (cache.labels("shop") or {}).get("team") == "open")
            events.put({"type": "DELETED", "object": namespace("rollout", {}, 103)})
            wait_until(lambda: cache.labels("rollout") is None)
            # Listed once, then watched from the list's resourceVersion: no call per lookup.
            calls = kube.calls_to("GET", NAMESPACES)
            assert sum("watch" not in c.query for c in calls) == 1
            assert any(c.query.get("resourceVersion") == ["100"] for c in calls if "watch" in c.query)
        finally:
            cache.stop()
            events.put(CLOSE)


def test_an_unreachable_api_server_leaves_labels_unknown_and_says_why() -> None:
    cache = NamespaceCache(api_client(f"http://127.0.0.1:{free_port()}"))
    cache.start()
    try:
        wait_until(lambda: cache.error)
        assert "cannot list/watch namespaces" in cache.error
        assert not cache.synced and cache.labels("default") is None
    finally:
        cache.stop()
