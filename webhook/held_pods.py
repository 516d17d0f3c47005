"""The held-pod cache: which pods are under forensic hold, kept outside the request path.

A CONNECT (`kubectl exec`, `attach`, `port-forward`) or an eviction names a pod but does not carry it,
so the forensic-hold check cannot see the hold label in the request. This cache list-watches the pods
that carry the label (`podgate.io/hold=true`, a server-side label selector: only held pods travel)
with the `kubernetes` client's SharedInformer, and answers, without I/O, what `Request.target_metadata`
needs:

    the pod's metadata            it is held (labels and the hold's annotations)
    {"name", "namespace"} only    the cache is in sync and the pod is not held
    None                          unknown: not synced yet, or the watch is failing; the policy's
                                  failurePolicy decides (the shipped forensic-hold: Fail, deny)

A pod whose label is removed leaves the selection: the API server sends DELETED and the cache drops it.

    cache = HeldPodCache(kubernetes.client.CoreV1Api())
    cache.start()
    request = cache.complete(request)       # fills target_metadata for CONNECT and evictions
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .policy.checks.forensic_hold import HOLD_LABEL, HOLD_VALUE
from .policy.engine import Request
from .policy.sessions import NAMED_ONLY_REQUESTS

if TYPE_CHECKING:
    from kubernetes.client import V1PodList

SELECTOR = f"{HOLD_LABEL}={HOLD_VALUE}"
MAX_BACKOFF_SECONDS = 30.0
logger = logging.getLogger(__name__)


class HeldPodCache:
    def __init__(self, core_v1: Any, *, resync_seconds: int = 300, backoff_seconds: float = 1.0) -> None:
        from kubernetes import informer

        shared_informer: Any = informer.SharedInformer  # the client's informer is untyped
        self._core_v1 = core_v1
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._failures = 0
        self._backoff = backoff_seconds
        self._informer = shared_informer(
            self._list_pods, label_selector=SELECTOR, resync_period=resync_seconds
        )
        self._informer.add_event_handler(informer.ERROR, self._on_error)

    def start(self) -> None:
        self._stopping.clear()
        self._informer.start()

    def stop(self) -> None:
        self._stopping.set()
        self._informer.stop()
        self._synced.clear()

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def target_metadata(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The pod's metadata if held, its bare identity if known not to be held, None if unknown."""
        if not self._synced.is_set():
            return None
        pod = self._informer.cache.get_by_key(f"{namespace}/{name}")
        if pod is None:
            return {"name": name, "namespace": namespace}
        return _metadata(pod)

    def complete(self, request: Request) -> Request:
        """The request with `target_metadata` filled in, for the requests that only name their pod."""
        if (request.operation, request.subresource) not in NAMED_ONLY_REQUESTS:
            return request
        target = self.target_metadata(request.namespace or "", request.name)
        return dataclasses.replace(request, target_metadata=target)

    def held(self) -> list[Mapping[str, Any]]:
        """Every held pod's metadata (for `/debug` pages and tests)."""
        return [_metadata(pod) for pod in self._informer.cache.list()] if self.synced else []

    # The informer calls this for its list and for each watch (watch=True): after a list, the cache is
    # replaced before the watch starts, so a watch that opens means the cache is complete.
    def _list_pods(self, **kwargs: Any) -> V1PodList:
        while True:
            if self._failures:  # back off while the API server fails (the informer would retry at once)
                delay = min(MAX_BACKOFF_SECONDS, self._backoff * 2 ** (self._failures - 1))
                if self._stopping.wait(delay):
                    raise RuntimeError("held-pod cache stopping")
            try:
                response = self._core_v1.list_pod_for_all_namespaces(**kwargs)
            except Exception as exc:
                if kwargs.get("watch"):
                    raise  # the informer reports it (ERROR) and reconnects
                self._on_error(exc)  # a failed list: retry here, without the informer's fixed pause
                logger.warning("held-pod cache: listing held pods failed (%s); retrying", _reason(exc))
                continue
            if kwargs.get("watch"):
                status = getattr(response, "status", 200)
                if isinstance(status, int) and 200 <= status < 300:
                    self._failures = 0
                    self._synced.set()
            return cast("V1PodList", response)

    def _on_error(self, error: Any) -> None:
        # Until a watch is open again, a hold placed meanwhile may be missed: say "unknown".
        self._synced.clear()
        self._failures += 1


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    return f"HTTP {status}" if status else type(exc).__name__


def _metadata(pod: Any) -> dict[str, Any]:
    """name, namespace, labels and annotations of a pod, from a client model or a plain dict."""
    if isinstance(pod, Mapping):
        meta = pod.get("metadata") or {}
        get = meta.get
    else:
        meta = getattr(pod, "metadata", None)

        def get(key: str) -> Any:
            return getattr(meta, key, None)

    return {
        "name": get("name") or "",
        "namespace": get("namespace") or "",
        "labels": dict(get("labels") or {}),
        "annotations": dict(get("annotations") or {}),
    }
