"""A podgate installation as the doctor sees it: the objects, and the links between them.

The same view is built from rendered manifests on disk or from a live cluster, so every risk module is
written once. Links follow what the API server and the controllers do: a webhook calls the Service named
in its clientConfig, the Service sends to the Pods its selector matches, those Pods come from the
Deployment whose template carries the labels, and PodDisruptionBudgets and autoscalers select the same.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography import x509

from ...policy.document import LabelSelector
from ...policy.match import compile_selector
from ..names import NAMESPACE_LABEL
from ..objects import K8sObject

WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


@dataclass(frozen=True)
class Webhook:
    config: K8sObject
    body: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.config.ref}: webhook {self.body.get('name')}"

    @property
    def fails_closed(self) -> bool:
        return bool(self.body.get("failurePolicy", "Fail") == "Fail")  # Fail is the v1 default

    @property
    def level(self) -> Literal["error", "warning"]:
        """How bad a broken path to this webhook is: a lockout when it fails closed."""
        return "error" if self.fails_closed else "warning"

    @property
    def service(self) -> Mapping[str, Any]:
        return (self.body.get("clientConfig") or {}).get("service") or {}

    def selects_namespace(self, name: str, labels: Mapping[str, str]) -> bool:
        """Whether requests in namespace `name` (with `labels`) are sent to this webhook."""
        selector = self.body.get("namespaceSelector") or {}
        matches = compile_selector(LabelSelector.model_validate(selector))
        return matches({**labels, NAMESPACE_LABEL: name})


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if not selector:
        return False  # an absent selector selects nothing for Services, PDBs and the like
    return compile_selector(LabelSelector.model_validate(dict(selector)))(labels)


@dataclass
class Installation:
    objects: Sequence[K8sObject]
    serving_cert: x509.Certificate | None = None  # given explicitly (--cert); else read from the Secret
    notes: list[str] = field(default_factory=list)  # what could not be seen (live: forbidden reads)

    def of_kind(self, kind: str) -> Iterator[K8sObject]:
        return (o for o in self.objects if o.kind == kind)

    def webhooks(self) -> list[Webhook]:
        return [
            Webhook(config, hook)
            for config in self.objects
            if config.kind in WEBHOOK_KINDS
            for hook in config.body.get("webhooks") or []
        ]

    def namespace_labels(self, name: str) -> dict[str, str]:
        for ns in self.of_kind("Namespace"):
            if ns.name == name:
                return dict((ns.body.get("metadata") or {}).get("labels") or {})
        return {}

    def service_of(self, webhook: Webhook) -> K8sObject | None:
        ref = webhook.service
        for svc in self.of_kind("Service"):
            if svc.name == ref.get("name") and svc.namespace == ref.get("namespace"):
                return svc
        return None

    def deployments_behind(self, service: K8sObject) -> list[K8sObject]:
        selector = (service.body.get("spec") or {}).get("selector") or {}
        found = []
        for dep in self.of_kind("Deployment"):
            labels = ((dep.body.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
                "labels"
            ) or {}
            if (
                dep.namespace == service.namespace
                and selector
                and all(labels.get(k) == v for k, v in selector.items())
            ):
                found.append(dep)
        return found

    def fail_closed_deployments(self) -> Iterator[tuple[Webhook, K8sObject]]:
        """Each Deployment serving a fail-closed webhook, once, with the first such webhook it serves."""
        seen = set()
        for hook in self.webhooks():
            service = self.service_of(hook)
            if not hook.fails_closed or service is None:
                continue
            for deployment in self.deployments_behind(service):
                if deployment.ref not in seen:
                    seen.add(deployment.ref)
                    yield hook, deployment

    def disruption_budgets_for(self, deployment: K8sObject) -> list[K8sObject]:
        labels = pod_labels(deployment)
        return [
            pdb
            for pdb in self.of_kind("PodDisruptionBudget")
            if pdb.namespace == deployment.namespace
            and selector_matches((pdb.body.get("spec") or {}).get("selector"), labels)
        ]

    def autoscalers_for(self, deployment: K8sObject) -> list[K8sObject]:
        return [
            hpa
            for hpa in self.of_kind("HorizontalPodAutoscaler")
            if hpa.namespace == deployment.namespace
            and ((hpa.body.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == "Deployment"
            and hpa.body["spec"]["scaleTargetRef"].get("name") == deployment.name
        ]

    def serving_certificate(self, deployment: K8sObject | None) -> tuple[x509.Certificate | None, str]:
        """The certificate the webhook serves: given explicitly, or the tls.crt of a Secret it mounts."""
        if self.serving_cert is not None:
            return self.serving_cert, "the given certificate"
        mounted = set()
        if deployment is not None:
            volumes = ((deployment.body.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                "volumes"
            ) or []
            mounted = {(v.get("secret") or {}).get("secretName") for v in volumes if v.get("secret")}
        for secret in self.of_kind("Secret"):
            data = secret.body.get("data") or {}
            if "tls.crt" in data and (not mounted or secret.name in mounted):
                try:
                    return x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"])), secret.ref
                except ValueError:
                    return None, f"{secret.ref} (tls.crt is not a PEM certificate)"
        return None, ""


def pod_labels(deployment: K8sObject) -> dict[str, str]:
    template = (deployment.body.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})
