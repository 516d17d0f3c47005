"""Read a live podgate installation through the official `kubernetes` client, for `podgate doctor --cluster`.

A thin layer: it reads, with the operator's kubeconfig, the webhook configurations that call the given
Service, and what they depend on (the Service, Deployments, PodDisruptionBudgets, autoscalers, the
namespaces' labels, the TLS Secret), as the API's own JSON, and hands them to the same doctor that judges
manifests on disk. A read that is forbidden is noted, never fatal: the doctor says what it could not see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .doctor import Installation
from .names import ALWAYS_EXCLUDED, NAMESPACE, SERVICE, TLS_SECRET
from .objects import K8sObject


class ClusterError(RuntimeError):
    """The cluster could not be reached or read; the message names the API call."""


def _raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The API's JSON as sent (no model round trip: what the doctor reads is what the server holds)."""
    response = call(*args, _preload_content=False, _request_timeout=10, **kwargs)
    return dict(json.loads(response.data))


def _items(listing: dict[str, Any], api_version: str, kind: str) -> list[dict[str, Any]]:
    # List items carry neither apiVersion nor kind on the wire.
    return [{"apiVersion": api_version, "kind": kind, **item} for item in listing.get("items") or []]


def read_installation(
    api: Any, *, service: str = SERVICE, namespace: str = NAMESPACE, tls_secret: str = TLS_SECRET
) -> Installation:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    admission = client.AdmissionregistrationV1Api(api)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    policy, autoscaling = client.PolicyV1Api(api), client.AutoscalingV2Api(api)
    bodies: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []

    def read(what: str, fn: Callable[[], list[dict[str, Any]]], *, required: bool = False) -> None:
        try:
            bodies.extend((f"cluster: {what}", body) for body in fn())
        except ApiException as exc:
            if exc.status == 404 and not required:
                return
            message = f"{what}: HTTP {exc.status} {exc.reason}"
            if required:
                raise ClusterError(message) from None
            notes.append(message)
        except HTTPError as exc:
            raise ClusterError(f"{what}: {exc}") from None

    def calls_podgate(config: dict[str, Any]) -> bool:
        for hook in config.get("webhooks") or []:
            ref = (hook.get("clientConfig") or {}).get("service") or {}
            if ref.get("name") == service and ref.get("namespace") == namespace:
                return True
        return False

    def configurations_reader(kind: str, lister: Any) -> Callable[[], list[dict[str, Any]]]:
        adm = "admissionregistration.k8s.io/v1"
        return lambda: [c for c in _items(_raw(lister), adm, kind) if calls_podgate(c)]

    read(
        "validatingwebhookconfigurations",
        configurations_reader(
            "ValidatingWebhookConfiguration", admission.list_validating_webhook_configuration
        ),
        required=True,
    )
    read(
        "mutatingwebhookconfigurations",
        configurations_reader("MutatingWebhookConfiguration", admission.list_mutating_webhook_configuration),
        required=True,
    )

    def namespace_reader(name: str) -> Callable[[], list[dict[str, Any]]]:
        return lambda: [{"apiVersion": "v1", "kind": "Namespace", **_raw(core.read_namespace, name)}]

    for ns in sorted({namespace, *ALWAYS_EXCLUDED}):
        read(f"namespace {ns}", namespace_reader(ns))
    read(
        f"service {namespace}/{service}",
        lambda: [
            {"apiVersion": "v1", "kind": "Service", **_raw(core.read_namespaced_service, service, namespace)}
        ],
    )
    read(
        f"deployments in {namespace}",
        lambda: _items(_raw(apps.list_namespaced_deployment, namespace), "apps/v1", "Deployment"),
    )
    read(
        f"poddisruptionbudgets in {namespace}",
        lambda: _items(
            _raw(policy.list_namespaced_pod_disruption_budget, namespace), "policy/v1", "PodDisruptionBudget"
        ),
    )
    read(
        f"horizontalpodautoscalers in {namespace}",
        lambda: _items(
            _raw(autoscaling.list_namespaced_horizontal_pod_autoscaler, namespace),
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
        ),
    )
    read(
        f"secret {namespace}/{tls_secret}",
        lambda: [
            {"apiVersion": "v1", "kind": "Secret", **_raw(core.read_namespaced_secret, tls_secret, namespace)}
        ],
    )
    objects = [K8sObject(source, body) for source, body in bodies]
    return Installation(objects, notes=notes)
