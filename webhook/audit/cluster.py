"""Objects from a live cluster, through the official `kubernetes` client, page by page.

Every pod-bearing kind is listed across namespaces (or in one) with `limit` and `continue`, so the
API server and this process only ever hold one page. Each page's body is streamed through the same
JSON reader as a dump (`_preload_content=False`), so a page is never built whole either. Requests are
spaced to at most `qps` per second, so an audit cannot load the API server.

A `continue` token expires (after about five minutes by default) with `410 Gone`, reason `Expired`.
The API server then offers a fresh token in the Status's `metadata.continue`: the rest of the list
from the latest snapshot (inconsistent with the pages already read, which an audit can live with; the
report says so). Without such a token the list restarts from the beginning, skipping objects already
seen by uid, so no object is judged twice.

This module is the thin layer over the client; tests run it against a loopback HTTP server that answers
with the API's real list and Status JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..inputs import InputError
from ..kube_client import CLIENT_METHODS
from ..policy.podspec import KIND_RESOURCES
from .stream import Located, json_objects


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


# kind, API class, snake name, apiVersion, resource (for messages)
RESOURCES: tuple[tuple[str, str, str, str, str], ...] = tuple(
    (kind, api_class, snake, _api_version(*KIND_RESOURCES[kind][:2]), KIND_RESOURCES[kind][2])
    for kind, (api_class, snake) in CLIENT_METHODS.items()
)


class ClusterError(Exception):
    """The cluster cannot be reached or refuses a list; the message names the resource and the reason."""


@dataclass(slots=True)
class ListRecord:
    """How one resource was listed: for the evidence block of the report."""

    resource: str
    resource_version: str = ""
    pages: int = 0
    objects: int = 0
    expired_tokens: int = 0
    inconsistent: bool = False  # continued from a fresh token after 410: pages from two snapshots
    restarted: bool = False  # restarted after 410 without a token: duplicates skipped by uid


@dataclass(slots=True)
class ClusterSource:
    api_client: Any
    namespace: str | None = None
    page_size: int = 500
    qps: float = 5.0
    records: list[ListRecord] = field(default_factory=list)
    sleep: Callable[[float], None] = time.sleep
    _last_request: float = float("-inf")

    @classmethod
    def connect(
        cls,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        in_cluster: bool = False,
        namespace: str | None = None,
        page_size: int = 500,
        qps: float = 5.0,
    ) -> ClusterSource:
        from ..kube_connect import KubeConfigError, api_client

        try:
            connection = api_client(kubeconfig=kubeconfig, context=context, in_cluster=in_cluster)
        except KubeConfigError as exc:
            raise ClusterError(str(exc)) from None
        return cls(connection.api_client, namespace=namespace, page_size=page_size, qps=qps)

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

    def evidence(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "namespace": self.namespace or "(all)",
            "pageSize": self.page_size,
            "lists": [
                {
                    "resource": r.resource,
                    "resourceVersion": r.resource_version,
                    "pages": r.pages,
                    "objects": r.objects,
                    "expiredContinueTokens": r.expired_tokens,
                    "inconsistent": r.inconsistent,
                    "restarted": r.restarted,
                }
                for r in self.records
            ],
        }

    def namespace_labels(self) -> dict[str, Mapping[str, str]]:
        """Labels of every namespace, for policies with a namespaceSelector (one paged list)."""
        from kubernetes import client

        labels: dict[str, Mapping[str, str]] = {}
        if self.namespace is not None:
            name = self.namespace
            api = client.CoreV1Api(self.api_client)
            found = self._get(lambda: api.read_namespace(name, _preload_content=False), f"namespace {name}")
            metadata = found.get("metadata") or {}
            labels[name] = metadata.get("labels") or {}
            return labels
        method = client.CoreV1Api(self.api_client).list_namespace
        for located in self._pages("namespaces", "Namespace", "v1", method, {}):
            metadata = located.object.get("metadata") or {}
            if isinstance(metadata.get("name"), str):
                labels[metadata["name"]] = metadata.get("labels") or {}
        return labels

    def objects(self) -> Iterator[Located]:
        """Every object of every pod-bearing kind, page by page."""
        from kubernetes import client

        for kind, api_class, snake, api_version, resource in RESOURCES:
            api = getattr(client, api_class)(self.api_client)
            if self.namespace is None:
                method = getattr(api, f"list_{snake}_for_all_namespaces")
                extra: dict[str, Any] = {}
            else:
                method = getattr(api, f"list_namespaced_{snake}")
                extra = {"namespace": self.namespace}
            yield from self._pages(resource, kind, api_version, method, extra)

    def _pages(
        self, resource: str, kind: str, api_version: str, method: Any, extra: dict[str, Any]
    ) -> Iterator[Located]:
        from kubernetes.client.exceptions import ApiException

        record = ListRecord(resource)
        self.records.append(record)
        token: str | None = None
        judged: set[str] = set()  # uids read so far: a restart after 410 skips them
        while True:
            self._throttle()
            try:
                response = method(limit=self.page_size, _continue=token, _preload_content=False, **extra)
            except ApiException as exc:
                if exc.status == 410 and token:
                    record.expired_tokens += 1
                    token = _status_continue(exc.body)
                    if token:
                        record.inconsistent = True
                    else:
                        record.restarted = True
                    continue
                raise ClusterError(f"listing {resource}: {_describe(exc)}") from None
            except Exception as exc:  # urllib3 connection and protocol errors
                raise ClusterError(f"listing {resource} from {self.server}: {exc}") from None
            lists: list[dict[str, Any]] = []
            source = f"cluster {resource} page {record.pages + 1}"
            try:
                for located in json_objects(response, source, lists=lists):
                    obj = located.object
                    if isinstance(obj, dict):
                        # List items carry no kind or apiVersion; the engine needs the kind.
                        obj.setdefault("kind", kind)
                        obj.setdefault("apiVersion", api_version)
                        uid = (obj.get("metadata") or {}).get("uid")
                        if isinstance(uid, str) and uid:
                            if record.restarted and uid in judged:
                                continue  # read before the restart
                            judged.add(uid)
                    record.objects += 1
                    yield Located("cluster", record.pages, located.item, None, obj)
            except InputError as exc:
                raise ClusterError(
                    f"listing {resource}: the API server's answer is not a list: {exc}"
                ) from None
            finally:
                response.release_conn()
            record.pages += 1
            metadata = (lists[0].get("metadata") if lists else None) or {}
            if not lists:
                raise ClusterError(f"listing {resource}: the API server's answer has no `items` list")
            if record.pages == 1 and isinstance(metadata.get("resourceVersion"), str):
                record.resource_version = metadata["resourceVersion"]
            token = metadata.get("continue") or None
            if not token:
                return

    def _get(self, call: Callable[[], Any], what: str) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        self._throttle()
        try:
            response = call()
        except ApiException as exc:
            raise ClusterError(f"reading {what}: {_describe(exc)}") from None
        except Exception as exc:
            raise ClusterError(f"reading {what} from {self.server}: {exc}") from None
        try:
            data = json.loads(response.data)
        finally:
            response.release_conn()
        return data if isinstance(data, dict) else {}

    def _throttle(self) -> None:
        wait = self._last_request + 1.0 / self.qps - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_request = time.monotonic()


def _status_continue(body: Any) -> str | None:
    """The fresh continue token a 410 Expired Status carries in `metadata.continue`, if any."""
    try:
        status = json.loads(body) if body else {}
    except ValueError:
        return None
    metadata = status.get("metadata") if isinstance(status, dict) else None
    token = metadata.get("continue") if isinstance(metadata, dict) else None
    return token if isinstance(token, str) and token else None


def _describe(exc: Any) -> str:
    message = ""
    try:
        status = json.loads(exc.body) if exc.body else {}
        message = status.get("message", "") if isinstance(status, dict) else ""
    except ValueError:
        pass
    hint = (
        " (the audit's service account needs get/list on it: see the read-only RBAC)"
        if exc.status == 403
        else ""
    )
    return f"HTTP {exc.status} {exc.reason}" + (f": {message}" if message else "") + hint
