"""The thin layer between `podgate hold` / `podgate release` and the API server (kubernetes client).

Everything the commands send is a JSON merge patch of `metadata` (and, for `hold`, a NetworkPolicy),
so each has an exact kubectl equivalent, which the commands print.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
from dataclasses import dataclass
from typing import Any

from ..kube_client import CLIENT_METHODS
from ..kube_connect import KubeConfigError, api_client
from .errors import UsageError

MERGE_PATCH = "application/merge-patch+json"
# The quarantine NetworkPolicy, as manifests/incident/quarantine-networkpolicy.yaml ships it (a test keeps
# the two equal; it is written here because an installed wheel carries no manifests/).
QUARANTINE_MANIFEST = "manifests/incident/quarantine-networkpolicy.yaml"
QUARANTINE: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {
        "name": "podgate-quarantine",
        "labels": {"app.kubernetes.io/name": "podgate", "app.kubernetes.io/component": "quarantine"},
    },
    "spec": {
        "podSelector": {"matchLabels": {"podgate.io/hold": "true"}},
        "policyTypes": ["Ingress", "Egress"],
    },
}


@dataclass(frozen=True)
class Kind:
    name: str  # as podgate and kubectl print it: pod, deployment, ...
    api: str  # the kubernetes.client API class
    suffix: str  # read_namespaced_<suffix> / patch_namespaced_<suffix>


# The kinds `hold` and `release` act on, with the names kubectl accepts for them.
_KUBECTL_NAMES = {
    "Pod": ("pod", "pods", "po"),
    "Deployment": ("deployment", "deployments", "deploy"),
    "StatefulSet": ("statefulset", "statefulsets", "sts"),
    "DaemonSet": ("daemonset", "daemonsets", "ds"),
    "ReplicaSet": ("replicaset", "replicasets", "rs"),
    "Job": ("job", "jobs"),
    "CronJob": ("cronjob", "cronjobs", "cj"),
}
KINDS = {
    alias: Kind(names[0], *CLIENT_METHODS[kind]) for kind, names in _KUBECTL_NAMES.items() for alias in names
}


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="KIND/NAME", help="pod/web, deployment/web, ... (a bare name is a pod)"
    )
    parser.add_argument(
        "-n", "--namespace", help="namespace (default: the kubeconfig context's, in a pod its own)"
    )
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster)"
    )
    parser.add_argument("--context", help="kubeconfig context")


def parse_target(text: str) -> tuple[Kind, str]:
    kind_text, _, name = text.rpartition("/")
    kind = KINDS.get((kind_text or "pod").lower())
    if kind is None or not name:
        known = ", ".join(sorted({k.name for k in KINDS.values()}))
        raise UsageError(f"{text!r}: name the object as KIND/NAME, KIND one of {known}")
    return kind, name


class Cluster:
    """Typed calls for one kind of object in one namespace."""

    def __init__(self, args: argparse.Namespace) -> None:
        from kubernetes import client

        try:
            connection = api_client(kubeconfig=args.kubeconfig, context=args.context)
        except KubeConfigError as exc:
            raise UsageError(f"cannot reach the cluster: {exc}") from None
        self.client = client
        self.api_client = connection.api_client
        self.namespace: str = args.namespace or connection.namespace

    def api(self, name: str) -> Any:
        return getattr(self.client, name)(self.api_client)

    def read(self, kind: Kind, name: str) -> Any:
        return self._call(kind, f"read_namespaced_{kind.suffix}", name, self.namespace)

    def patch_metadata(self, kind: Kind, name: str, metadata: dict[str, Any]) -> Any:
        method = f"patch_namespaced_{kind.suffix}"
        return self._call(
            kind, method, name, self.namespace, {"metadata": metadata}, _content_type=MERGE_PATCH
        )

    def username(self) -> str:
        """Who the API server says we are (SelfSubjectReview, authentication.k8s.io/v1, Kubernetes 1.28+)."""
        body = self.client.V1SelfSubjectReview(
            api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"
        )
        try:
            review = self.api("AuthenticationV1Api").create_self_subject_review(body)
        except self.client.exceptions.ApiException as exc:
            raise ApiRefusal(f"cannot find out who you are (SelfSubjectReview): {api_message(exc)}") from None
        user = review.status.user_info if review.status else None
        if user is None or not user.username:
            raise ApiRefusal("the API server did not say who you are (SelfSubjectReview without a username)")
        return str(user.username)

    def ensure_quarantine(self) -> bool:
        """Create the quarantine NetworkPolicy in the namespace; False when it already exists."""
        manifest = copy.deepcopy(QUARANTINE)
        try:
            self.api("NetworkingV1Api").create_namespaced_network_policy(self.namespace, manifest)
        except self.client.exceptions.ApiException as exc:
            if exc.status == 409:
                return False
            raise ApiRefusal(
                f"cannot create NetworkPolicy {manifest['metadata']['name']}: {api_message(exc)}"
            ) from None
        return True

    def _call(self, kind: Kind, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.api(kind.api), method)(*args, **kwargs)
        except self.client.exceptions.ApiException as exc:
            ref = f"{kind.name}/{args[0]} in namespace {self.namespace}"
            if exc.status == 404:
                raise UsageError(f"{ref} not found") from None
            raise ApiRefusal(f"{ref}: {api_message(exc)}") from None


class ApiRefusal(Exception):
    """The API server (or an admission webhook) refused: the message is the server's own."""


def api_message(exc: Any) -> str:
    """The `message` of the Status the API server answered with (a webhook's denial, RBAC's reason)."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return f"HTTP {exc.status} {exc.reason}"


def metadata_of(obj: Any) -> tuple[dict[str, str], dict[str, str]]:
    meta = obj.metadata
    return dict(meta.labels or {}), dict(meta.annotations or {})


def kubectl_patch(kind: Kind, name: str, namespace: str, metadata: dict[str, Any]) -> str:
    body = shlex.quote(json.dumps({"metadata": metadata}, separators=(",", ":")))
    target = f"{kind.name}/{shlex.quote(name)} -n {shlex.quote(namespace)}"
    return f"kubectl patch {target} --type merge -p {body}"
