"""The namespace-label cache against a loopback API server speaking the real list/watch JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from webhook_support.kubeapi import FakeKubeAPI
from webhook_support.server import free_port

from webhook.namespaces import NamespaceCache, api_client


def wait_until(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_lists_then_follows_the_watch() -> None:
    api = FakeKubeAPI({"shop": {"team": "restricted"}, "default": {}})
    cache = NamespaceCache(api_client(api.url))
    try:
        assert cache.labels("shop") is None  # not synced yet: unknown, never "no labels"
        cache.start()
        wait_until(lambda: cache.synced)
        assert cache.labels("shop") == {"kubernetes.io/metadata.name": "shop", "team": "restricted"}
        assert cache.labels("absent") is None
        api.event("ADDED", "rollout", {"podgate.io/mode": "dry-run"})
        wait_until(lambda: cache.labels("rollout"))
        assert cache.labels("rollout") == {
            "kubernetes.io/metadata.name": "rollout",
            "podgate.io/mode": "dry-run",
        }
        api.event("MODIFIED", "shop", {"team": "open"})
        wait_until(lambda: (cache.labels("shop") or {}).get("team") == "open")
        api.event("DELETED", "rollout", {})
        wait_until(lambda: cache.labels("rollout") is None)
        # Listed once, then watched from the list's resourceVersion: no call per lookup.
        assert sum("watch" not in r for r in api.requests) == 1
        assert any("watch=true" in r and "resourceVersion=100" in r for r in api.requests)
    finally:
        cache.stop()
        api.close()


def test_an_unreachable_api_server_leaves_labels_unknown_and_says_why() -> None:
    cache = NamespaceCache(api_client(f"http://127.0.0.1:{free_port()}"))
    cache.start()
    try:
        wait_until(lambda: cache.error)
        assert "cannot list/watch namespaces" in cache.error
        assert not cache.synced and cache.labels("default") is None
    finally:
        cache.stop()
