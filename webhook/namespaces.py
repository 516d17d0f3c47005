"""Namespace labels for namespace selectors and the per-namespace dry-run label.

A thin layer over the official `kubernetes` client: one background thread per worker lists the
Namespaces, then watches them from the list's resourceVersion, and keeps `name -> labels` in memory.
Requests only read that dict: never a call to the API server on the request path. Until the first list
has succeeded (or when no cluster is configured) `labels()` returns None, "not known", and the engine
applies each policy's failurePolicy and says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("podgate.namespaces")

WATCH_SECONDS = 300  # the API server ends watches after a while anyway; re-watch from the last version


class NamespaceCache:
    def __init__(self, api_client: Any) -> None:
        self._api_client = api_client
        self._labels: dict[str, dict[str, str]] = {}
        self.synced = False
        self.error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def labels(self, namespace: str | None) -> Mapping[str, str] | None:
        if not self.synced or not namespace:
            return None
        return self._labels.get(namespace)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="podgate-namespace-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        from kubernetes import client, watch

        api: Any = client.CoreV1Api(self._api_client)
        backoff = 0.5
        while not self._stop.is_set():
            try:
                listing: Any = api.list_namespace(timeout_seconds=30)
                self._labels = {ns.metadata.name: dict(ns.metadata.labels or {}) for ns in listing.items}
                version = listing.metadata.resource_version
                self.synced, self.error, backoff = True, "", 0.5
                log.info("namespace labels: %d namespaces listed", len(self._labels))
                while not self._stop.is_set():
                    version = self._watch(watch.Watch(), api, version)  # type: ignore[no-untyped-call]
                    if version is None:  # the version expired (410 Gone): list again
                        break
            except Exception as exc:  # any API or network failure: say so, keep the last labels, retry
                self.error = f"cannot list/watch namespaces: {type(exc).__name__}: {exc}"
                log.warning("%s; retrying in %.1fs", self.error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _watch(self, watcher: Any, api: Any, version: str) -> str | None:
        started = time.monotonic()
        for event in watcher.stream(
            api.list_namespace, resource_version=version, timeout_seconds=WATCH_SECONDS
        ):
            kind = event.get("type")
            obj = event.get("object")
            if kind == "ERROR":
                raw = event.get("raw_object") or {}
                if raw.get("code") == 410:
                    return None
                raise RuntimeError(f"watch error: {raw.get('message', raw)}")
            name = obj.metadata.name
            if kind == "DELETED":
                self._labels.pop(name, None)
            else:
                self._labels[name] = dict(obj.metadata.labels or {})
            version = obj.metadata.resource_version or version
        if time.monotonic() - started < 1:  # a watch that ends at once: do not spin on the API server
            self._stop.wait(1)
        return version


def api_client(kube_api: str = "") -> Any | None:
    """A client for `kube_api`, else the pod's service account, else the kubeconfig; None when there is
    no cluster. The webhook runs in its pod, so in-cluster comes first here (the CLI's order is kubectl's)."""
    from kubernetes import client

    from .kube_connect import KubeConfigError
    from .kube_connect import api_client as connect

    if kube_api:
        configuration = client.Configuration()
        configuration.host = kube_api
        return client.ApiClient(configuration)
    try:
        return connect(in_cluster=True).api_client
    except KubeConfigError as exc:
        not_in_a_pod = str(exc)  # a webhook run by hand, with the operator's kubeconfig
    try:
        return connect(in_cluster_fallback=False).api_client  # the service account was just tried
    except KubeConfigError as exc:
        # the caller says what goes without
        log.info("no cluster configuration: %s and %s", exc, not_in_a_pod)
        return None
