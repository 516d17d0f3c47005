"""A loopback HTTP server answering list requests the way the Kubernetes API server does.

No API server can be installed here; this one speaks the same JSON: `<Kind>List` bodies with
`metadata.resourceVersion` and `metadata.continue`, items without `kind`/`apiVersion`, `limit` and
`continue` query parameters, and `Status` bodies for errors, including 410 `Expired` with (or without)
a fresh continue token, exactly as the API server words it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kube_loopback import serving, status

EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)

LIST_KINDS = {
    "pods": "PodList",
    "podtemplates": "PodTemplateList",
    "replicationcontrollers": "ReplicationControllerList",
    "namespaces": "NamespaceList",
    "deployments": "DeploymentList",
    "statefulsets": "StatefulSetList",
    "daemonsets": "DaemonSetList",
    "replicasets": "ReplicaSetList",
    "jobs": "JobList",
    "cronjobs": "CronJobList",
}


@dataclass
class FakeAPI:
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # resource -> items (no kind)
    expire: dict[str, str | None] = field(default_factory=dict)  # continue token -> fresh token (or None)
    forbidden: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    resource_version: str = "48213"

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, query))
        parts = path.strip("/").split("/")
        resource = parts[-1]
        namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else None
        if resource in self.forbidden:
            return status(
                403,
                "Forbidden",
                f'{resource} is forbidden: User "system:serviceaccount:podgate:audit" cannot list resource '
                f'"{resource}" in API group "" at the cluster scope',
            )
        if len(parts) >= 4 and parts[-2] == "namespaces" and parts[-1] not in LIST_KINDS:  # GET a namespace
            for ns in self.objects.get("namespaces", []):
                if ns["metadata"]["name"] == parts[-1]:
                    return 200, {"kind": "Namespace", "apiVersion": "v1", **ns}
            return status(404, "NotFound", f'namespaces "{parts[-1]}" not found')
        token = query.get("continue", "")
        if token in self.expire:
            fresh = self.expire.pop(token)
            code, body = status(410, "Expired", EXPIRED_MESSAGE)
            if fresh:
                body["metadata"] = {"continue": fresh}
            return code, body
        items = [
            i
            for i in self.objects.get(resource, [])
            if namespace is None or i["metadata"].get("namespace") == namespace
        ]
        start = int(token.split(":")[1]) if token else 0
        limit = int(query.get("limit", "0")) or len(items)
        page = items[start : start + limit]
        metadata: dict[str, Any] = {"resourceVersion": self.resource_version}
        if start + limit < len(items):
            metadata["continue"] = f"{resource}:{start + limit}"
            metadata["remainingItemCount"] = len(items) - start - limit
        api_version = (
            "v1"
            if resource in ("pods", "podtemplates", "replicationcontrollers", "namespaces")
            else "apps/v1"
        )
        if resource in ("jobs", "cronjobs"):
            api_version = "batch/v1"
        return 200, {
            "kind": LIST_KINDS[resource],
            "apiVersion": api_version,
            "metadata": metadata,
            "items": page,
        }


@contextmanager
def serve(api: FakeAPI) -> Iterator[str]:
    """`api` behind a loopback API server; yields its URL."""
    with serving() as loop:
        loop.fallback = lambda call: api.answer(call.path, {k: v[0] for k, v in call.query.items()})
        yield loop.url
