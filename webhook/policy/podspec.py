"""Find the pod spec inside any pod-bearing object, and walk its containers.

Every check sees the same `PodView`, whatever object carried the pod: a Pod, the template of a
Deployment/StatefulSet/DaemonSet/ReplicaSet/ReplicationController/Job, the job template of a CronJob,
or a PodTemplate. Paths are written as the user wrote the object, e.g.
`spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged`, so a message can
point at the exact field to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

# Where the pod (metadata + spec) sits inside each kind, as a path of keys.
POD_TEMPLATE_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
POD_KINDS: Final = frozenset(POD_TEMPLATE_PATHS)
# kind -> (API group, version, resource) of every pod-bearing kind, as the API server's rules name it.
KIND_RESOURCES: Final[Mapping[str, tuple[str, str, str]]] = {
    "Pod": ("", "v1", "pods"),
    "PodTemplate": ("", "v1", "podtemplates"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
}
EPHEMERAL_CONTAINERS: Final = "pods/ephemeralcontainers"
_PREFIXES: Final = {kind: "".join(f"{key}." for key in path) for kind, path in POD_TEMPLATE_PATHS.items()}

# The order the API server's own visitors use (init, regular, ephemeral), so messages read the same way.
CONTAINER_FIELDS: Final = ("initContainers", "containers", "ephemeralContainers")


# Views are built for every request, so they are plain slotted classes (frozen dataclasses cost three
# times as much to construct); treat them as read-only all the same.
@dataclass(slots=True)
class ContainerView:
    """One container of any of the three kinds, with the path it was written at."""

    field: str  # "initContainers" | "containers" | "ephemeralContainers"
    index: int
    spec: Mapping[str, Any]
    path: str  # e.g. "spec.template.spec.containers[0]"

    @property
    def name(self) -> str:
        name = self.spec.get("name")
        return name if isinstance(name, str) else ""

    @property
    def image(self) -> str:
        image = self.spec.get("image")
        return image if isinstance(image, str) else ""

    @property
    def label(self) -> str:
        """How messages name the container: `container "web" (spec.containers[0])`."""
        noun = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}.get(
            self.field, "container"
        )
        return f'{noun} "{self.name}" ({self.path})'


@dataclass(slots=True)
class PodView:
    """The pod part of an object: metadata, spec and every container, with their paths."""

    kind: str
    prefix: str  # "" for a Pod, "spec.template." for a Deployment, ...
    node: Mapping[str, Any]  # the pod or template itself: holds `metadata` and `spec`
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    containers: tuple[ContainerView, ...]

    @property
    def spec_path(self) -> str:
        return f"{self.prefix}spec"

    @property
    def metadata_path(self) -> str:
        return f"{self.prefix}metadata"

    @property
    def labels(self) -> Mapping[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, Mapping) else {}

    @property
    def annotations(self) -> Mapping[str, Any]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, Mapping) else {}


def object_kind(obj: Mapping[str, Any], fallback: str | None = None) -> str | None:
    kind = obj.get("kind")
    return kind if isinstance(kind, str) and kind else fallback


def pod_view(obj: Mapping[str, Any], kind: str | None = None) -> PodView | None:
    """The pod inside `obj`, or None when `obj` carries no pod spec.

    `kind` defaults to the object's own `kind`; the admission layer passes the request's kind, which
    is authoritative: an object whose `kind` field says otherwise is still judged as what the request
    creates (tests/test_bypass.py). A template that is missing (a ReplicationController may omit it)
    gives None.
    Wrong types on the way down are left to the shape check (`shape.py`), which reports them.
    """
    kind = kind or object_kind(obj)
    if kind is None or kind not in POD_TEMPLATE_PATHS:
        return None
    node: Any = obj
    for key in POD_TEMPLATE_PATHS[kind]:
        node = node.get(key) if is_mapping(node) else None
        if node is None:
            return None
    if not is_mapping(node):
        return None
    prefix = _PREFIXES[kind]
    metadata = node.get("metadata")
    spec = node.get("spec")
    if not is_mapping(spec):
        return None
    return PodView(
        kind=kind,
        prefix=prefix,
        node=node,
        metadata=metadata if is_mapping(metadata) else {},
        spec=spec,
        containers=tuple(_containers(spec, f"{prefix}spec")),
    )


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), answered without the ABC machinery for the usual plain dict."""
    return type(value) is dict or isinstance(value, Mapping)


def _containers(spec: Mapping[str, Any], spec_path: str) -> list[ContainerView]:
    found = []
    for field in CONTAINER_FIELDS:
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if is_mapping(container):
                found.append(ContainerView(field, index, container, f"{spec_path}.{field}[{index}]"))
    return found


def ensure_mapping(parent: Any, key: str) -> dict[str, Any]:
    """`parent[key]`, created as {} when absent or null: how mutators reach fields that may not exist.

    Only for mutators, which work on the engine's private deep copy (plain dicts).
    """
    child = parent.get(key)
    if child is None:
        child = parent[key] = {}
    assert isinstance(child, dict)  # shape.py ran: a present value has the schema's type
    return child
