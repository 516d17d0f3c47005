"""How the official `kubernetes` client names its calls for each pod-bearing kind.

`<API class>().list_<stem>_for_all_namespaces`, `read_namespaced_<stem>`, `patch_namespaced_<stem>`:
the audit lists with these, `podgate hold`/`release` read and patch with them. The kinds' group,
version and resource come from the engine's `podspec.KIND_RESOURCES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# kind -> (API class, method stem)
CLIENT_METHODS: Final[Mapping[str, tuple[str, str]]] = {
    "Pod": ("CoreV1Api", "pod"),
    "PodTemplate": ("CoreV1Api", "pod_template"),
    "ReplicationController": ("CoreV1Api", "replication_controller"),
    "Deployment": ("AppsV1Api", "deployment"),
    "StatefulSet": ("AppsV1Api", "stateful_set"),
    "DaemonSet": ("AppsV1Api", "daemon_set"),
    "ReplicaSet": ("AppsV1Api", "replica_set"),
    "Job": ("BatchV1Api", "job"),
    "CronJob": ("BatchV1Api", "cron_job"),
}
