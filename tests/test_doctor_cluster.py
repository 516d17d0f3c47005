"""`podgate doctor --cluster` through the official client, against a loopback HTTP server that answers
with the API server's JSON shapes (lists without per-item kind, server-set metadata and status, Status
objects for errors). The same risks are found as on disk; reads are GETs only."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from kube_loopback import serving, status, write_kubeconfig

Objects = list[dict[str, Any]]


def served(obj: dict[str, Any], n: int) -> dict[str, Any]:
    """An object as the API server returns it: uid, resourceVersion, timestamps, and a status."""
    body = copy.deepcopy(obj)
    meta = body.setdefault("metadata", {})
    meta.update(
        uid=f"0b0c6d52-6a3e-4c55-9d7a-{n:012d}",
        resourceVersion=str(1000 + n),
        creationTimestamp="2026-11-30T10:00:00Z",
        generation=1,
    )
    if body["kind"] == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        body["spec"], body["status"] = {"finalizers": ["kubernetes"]}, {"phase": "Active"}
    if body["kind"] == "Deployment" and "status" not in body:
        replicas = body["spec"]["replicas"]
        body["status"] = {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
        }
    if body["kind"] == "Service":
        body["spec"].update(
            clusterIP="10.96.12.34",
            clusterIPs=["10.96.12.34"],
            sessionAffinity="None",
            ipFamilies=["IPv4"],
            ipFamilyPolicy="SingleStack",
            internalTrafficPolicy="Cluster",
        )
    return body


def listing(kind: str, api_version: str, items: Objects) -> dict[str, Any]:
    stripped = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {
        "kind": f"{kind}List",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": "5000"},
        "items": stripped,
    }


# Someone else's webhook in the same cluster: fail-closed and unscoped, but not podgate's business.
OTHER_WEBHOOK = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": "cert-manager-webhook"},
    "webhooks": [
        {
            "name": "webhook.cert-manager.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 30,
            "clientConfig": {
                "service": {
                    "name": "cert-manager-webhook",
                    "namespace": "cert-manager",
                    "path": "/validate",
                    "port": 443,
                }
            },
            "rules": [
                {
                    "apiGroups": ["cert-manager.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["*/*"],
                }
            ],
        }
    ],
}


class FakeApiServer:
    def __init__(self, objects: Objects, *, forbid_secrets: bool = False) -> None:
        served_objects = [served(o, i) for i, o in enumerate([*objects, OTHER_WEBHOOK])]
        ns = "podgate-system"

        def of(kind: str) -> Objects:
            return [o for o in served_objects if o["kind"] == kind]

        def named(kind: str, name: str) -> dict[str, Any] | None:
            return next((o for o in of(kind) if o["metadata"]["name"] == name), None)

        adm = "admissionregistration.k8s.io/v1"
        self.routes: dict[str, Any] = {
            f"/apis/{adm}/validatingwebhookconfigurations": listing(
                "ValidatingWebhookConfiguration", adm, of("ValidatingWebhookConfiguration")
            ),
            f"/apis/{adm}/mutatingwebhookconfigurations": listing(
                "MutatingWebhookConfiguration", adm, of("MutatingWebhookConfiguration")
            ),
            f"/apis/apps/v1/namespaces/{ns}/deployments": listing("Deployment", "apps/v1", of("Deployment")),
            f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets": listing(
                "PodDisruptionBudget", "policy/v1", of("PodDisruptionBudget")
            ),
            f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers": listing(
                "HorizontalPodAutoscaler", "autoscaling/v2", of("HorizontalPodAutoscaler")
            ),
            f"/api/v1/namespaces/{ns}/services/podgate": named("Service", "podgate"),
            f"/api/v1/namespaces/{ns}/secrets/podgate-tls": named("Secret", "podgate-tls"),
        }
        for name in ("kube-system", "kube-node-lease", ns):
            self.routes[f"/api/v1/namespaces/{name}"] = named("Namespace", name) or served(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, 99
            )
        if forbid_secrets:
            _, self.routes[f"/api/v1/namespaces/{ns}/secrets/podgate-tls"] = status(
                403,
                "Forbidden",
                'secrets "podgate-tls" is forbidden: User "alice" cannot get resource "secrets" in API group "" '
                'in the namespace "podgate-system"',
            )

    def __enter__(self) -> FakeApiServer:
        self.serving = serving()
        self.loop = self.serving.__enter__()
        for path, body in self.routes.items():
            if body is not None:
                code = body["code"] if body.get("kind") == "Status" else 200
                self.loop.answer("GET", path, (code, body))
        return self

    def __exit__(self, *exc: object) -> None:
        self.serving.__exit__(None, None, None)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return [(call.method, call.path) for call in self.loop.calls]

    def kubeconfig(self, path: Path) -> str:
        return str(write_kubeconfig(path, self.loop.url, user="alice"))
