"""Pod-bearing kinds as the API server's resource rules name them (group, version, resource)."""

from __future__ import annotations

from typing import Final

KIND_RESOURCES: Final = {
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
RESOURCE_KINDS: Final = {(group, resource): kind for kind, (group, _, resource) in KIND_RESOURCES.items()}
EPHEMERAL_CONTAINERS: Final = "pods/ephemeralcontainers"

# Where the pod spec sits in each kind, in CEL: the exported counterpart of podspec.pod_view, bound to
# `variables.podSpec` so that expression rules read the same in podgate and in the API server.
POD_SPEC_CEL: Final = (
    "object.kind == 'Pod' ? object.spec"
    " : object.kind == 'PodTemplate' ? object.template.spec"
    " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
    " : object.spec.template.spec"
)
POD_METADATA_CEL: Final = (
    "object.kind == 'Pod' ? object.metadata"
    " : object.kind == 'PodTemplate' ? (has(object.template.metadata) ? object.template.metadata : {})"
    " : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata)"
    " ? object.spec.jobTemplate.spec.template.metadata : {})"
    " : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})"
)
