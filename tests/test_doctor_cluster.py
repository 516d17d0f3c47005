"""`podgate doctor --cluster` through the official client, against a loopback HTTP server that answers
with the API server's JSON shapes (lists without per-item kind, server-set metadata and status, Status
objects for errors). The same risks are found as on disk; reads are GETs only."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _deploy import kustomize, one, tree_with_certs
from kube_loopback import serving, status, write_kubeconfig

from webhook.cli import main

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


@pytest.fixture(scope="module")
def enforce(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    tree = tree_with_certs(tmp_path_factory.mktemp("cluster"))
    return kustomize(tree / "manifests" / "overlays" / "enforce")


@pytest.fixture
def doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    def run(objects: Objects, **server_args: Any) -> tuple[int, str, list[tuple[str, str]]]:
        with FakeApiServer(objects, **server_args) as api:
            code = main(["doctor", "--cluster", "--kubeconfig", api.kubeconfig(tmp_path / "kubeconfig")])
        return code, capsys.readouterr().out, api.requests

    yield run


def test_a_sound_installation_passes(enforce: Objects, doctor: Any) -> None:
    code, out, requests = doctor(enforce)
    assert code == 0, out
    # validate, holds and sessions (the access policies), mutate
    assert out.strip() == "ok: 4 webhook(s) in the cluster passed 10 lockout checks (0 warning(s))"
    assert {method for method, _ in requests} == {"GET"}
    assert ("GET", "/api/v1/namespaces/podgate-system/secrets/podgate-tls") in requests


def test_lockout_risks_are_found_in_the_cluster(enforce: Objects, doctor: Any) -> None:
    objects = copy.deepcopy(enforce)
    one(objects, "Deployment")["spec"]["replicas"] = 1
    one(objects, "HorizontalPodAutoscaler")["spec"]["minReplicas"] = 1
    objects = [o for o in objects if o["kind"] != "PodDisruptionBudget"]
    code, out, _ = doctor(objects)
    assert code == 1
    assert "error: [too-few-replicas] Deployment podgate-system/podgate" in out
    assert "error: [no-disruption-budget] Deployment podgate-system/podgate" in out
    assert "cert-manager" not in out  # other webhooks are not podgate's to judge
    assert out.strip().endswith("refused: 2 lockout risk(s) in the cluster; fix them before applying")


def test_a_degraded_deployment_is_reported_from_its_status(enforce: Objects, doctor: Any) -> None:
    objects = copy.deepcopy(enforce)
    one(objects, "Deployment")["status"] = {
        "observedGeneration": 1,
        "replicas": 3,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "unavailableReplicas": 2,
        "updatedReplicas": 3,
    }
    code, out, _ = doctor(objects)
    assert code == 0
    assert "warning: [replicas-unavailable] Deployment podgate-system/podgate" in out
    assert "only 1 replica ready" in out


def test_a_forbidden_read_is_a_note_not_a_failure(enforce: Objects, doctor: Any) -> None:
    code, out, _ = doctor(enforce, forbid_secrets=True)
    assert code == 0
    assert "note: could not read secret podgate-system/podgate-tls: HTTP 403 Forbidden" in out
    assert "warning: [ca-bundle-mismatch]" in out and "give --cert" in out


def test_an_unreachable_cluster_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer([]) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    # The server is gone: the client's connection is refused at once on loopback.
    assert main(["doctor", "--cluster", "--kubeconfig", kubeconfig]) == 2
    assert "validatingwebhookconfigurations" in capsys.readouterr().err
