"""A catalogue of admission bypass attempts, each run against the engine and expected to be denied.

Data-driven: every attempt names the check id it targets and that check's parameters; an attempt whose
check is not registered fails (a check dropped from the registry must not pass silently). Each family also has a control
(the honest form of the object) that must be allowed, so a check that denies everything cannot pass.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from conftest import pod

from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.engine import INPUT_POLICY
from webhook.policy.registry import CHECKS

TRUSTED = {"registries": ["registry.example.com", "ghcr.io/acme"]}
NO_PRIVILEGED = {"allowedCapabilities": ["NET_BIND_SERVICE"]}
IMAGE = "registry.example.com/shop/app:1.0"


@dataclass(frozen=True)
class Attempt:
    id: str
    check: str
    object: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # a violation must be reported at exactly this path
    allowed: bool = False  # False: a bypass attempt (must be denied); True: its honest control
    operation: str = "CREATE"
    old_object: dict[str, Any] | None = None
    subresource: str = ""
    kind: str | None = None  # request.kind, when it differs from the object's
    namespace: str | None = None  # request.namespace
    policy: str = "under-test"  # the policy the violation must come from (podgate-input for malformed)


def safe_pod(**spec: Any) -> dict[str, Any]:
    """A pod every check in the catalogue accepts; attempts change one thing."""
    obj = pod(
        **{"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}, **spec}
    )
    obj["spec"]["containers"][0].update(image=IMAGE, securityContext=_restricted_container())
    return obj


def _restricted_container() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def with_container(obj: dict[str, Any], where: str = "containers", **fields: Any) -> dict[str, Any]:
    """`obj` with one more container in `where` (or the first container edited, for containers)."""
    obj = copy.deepcopy(obj)
    spec = obj["spec"]
    if where == "containers" and spec["containers"]:
        spec["containers"][0].update(fields)
    else:
        base = {"name": f"extra-{where.lower()}", "image": IMAGE, "securityContext": _restricted_container()}
        spec.setdefault(where, []).append({**base, **fields})
    return obj


def security(obj: dict[str, Any], where: str = "containers", **context: Any) -> dict[str, Any]:
    """`obj` whose container in `where` has these securityContext settings."""
    base = _restricted_container()
    return with_container(obj, where, securityContext={**base, **context})


CONTROLLERS = {
    "Deployment": ("apps/v1", ("spec", "template")),
    "StatefulSet": ("apps/v1", ("spec", "template")),
    "DaemonSet": ("apps/v1", ("spec", "template")),
    "ReplicaSet": ("apps/v1", ("spec", "template")),
    "ReplicationController": ("v1", ("spec", "template")),
    "Job": ("batch/v1", ("spec", "template")),
    "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template")),
    "PodTemplate": ("v1", ("template",)),
}


def controller(kind: str, pod_obj: dict[str, Any]) -> dict[str, Any]:
    api_version, keys = CONTROLLERS[kind]
    obj: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "shop"},
    }
    node = obj
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = {"metadata": {"labels": {"app": "x"}}, "spec": copy.deepcopy(pod_obj["spec"])}
    return obj


def prefix(kind: str) -> str:
    return "".join(f"{key}." for key in CONTROLLERS[kind][1])


ROOT = security(safe_pod(), runAsNonRoot=False)
DEBUG_OLD = safe_pod()


def debug_container(**context: Any) -> dict[str, Any]:
    """`kubectl debug`: an UPDATE of pods/ephemeralcontainers adding one ephemeral container."""
    return security(DEBUG_OLD, "ephemeralContainers", **context)


ATTEMPTS: list[Attempt] = [
    # --- no-root: containers of every kind, every controller, updates, precedence, malformed values
    Attempt("no-root/control", "no-root", safe_pod(), allowed=True),
    Attempt(
        "no-root/root-init-container",
        "no-root",
        security(safe_pod(), "initContainers", runAsUser=0),
        path="spec.initContainers[0].securityContext.runAsUser",
    ),
    Attempt(
        "no-root/kubectl-debug-ephemeral-as-root",
        "no-root",
        debug_container(runAsNonRoot=False),
        operation="UPDATE",
        old_object=DEBUG_OLD,
        subresource="ephemeralcontainers",
        path="spec.ephemeralContainers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/kubectl-debug-ephemeral-uid-0",
        "no-root",
        debug_container(runAsUser=0),
        operation="UPDATE",
        old_object=DEBUG_OLD,
        subresource="ephemeralcontainers",
        path="spec.ephemeralContainers[0].securityContext.runAsUser",
    ),
    *(
        Attempt(
            f"no-root/{kind}-template",
            "no-root",
            controller(kind, ROOT),
            path=f"{prefix(kind)}spec.containers[0].securityContext.runAsNonRoot",
        )
        for kind in CONTROLLERS
    ),
    *(
        Attempt(f"no-root/{kind}-control", "no-root", controller(kind, safe_pod()), allowed=True)
        for kind in CONTROLLERS
    ),
    Attempt(
        "no-root/update-introduces-root",
        "no-root",
        controller("Deployment", ROOT),
        operation="UPDATE",
        old_object=controller("Deployment", safe_pod()),
        path="spec.template.spec.containers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/update-adds-a-second-root-container-beside-an-old-one",
        "no-root",
        {
            **ROOT,
            "spec": {
                **ROOT["spec"],
                "containers": [
                    *ROOT["spec"]["containers"],
                    {"name": "new", "image": IMAGE, "securityContext": {"runAsUser": 0}},
                ],
            },
        },
        operation="UPDATE",
        old_object=ROOT,
        path="spec.containers[1].securityContext.runAsUser",
    ),
    Attempt(
        "no-root/update-renames-the-root-container",
        "no-root",
        {
            **ROOT,
            "spec": {**ROOT["spec"], "containers": [{**ROOT["spec"]["containers"][0], "name": "renamed"}]},
        },
        operation="UPDATE",
        old_object=ROOT,
        path="spec.containers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/container-false-overrides-pod-true",
        "no-root",
        ROOT,
        path="spec.containers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/pod-uid-0-under-containers-that-say-non-root",
        "no-root",
        safe_pod(securityContext={"runAsNonRoot": True, "runAsUser": 0}),
        path="spec.securityContext.runAsUser",
    ),
    Attempt(
        "no-root/non-root-flag-with-uid-0",
        "no-root",
        security(safe_pod(), runAsNonRoot=True, runAsUser=0),
        path="spec.containers[0].securityContext.runAsUser",
    ),
    Attempt(
        "no-root/null-security-contexts-mean-unset",
        "no-root",
        pod(securityContext=None),
        path="spec.securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/string-true-is-malformed-not-true",
        "no-root",
        safe_pod(securityContext={"runAsNonRoot": "true"}),
        policy=INPUT_POLICY,
        path="spec.securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/uid-as-float-zero-is-malformed",
        "no-root",
        security(safe_pod(), runAsUser=0.0),
        policy=INPUT_POLICY,
        path="spec.containers[0].securityContext.runAsUser",
    ),
    Attempt(
        "no-root/huge-uid-overflowing-int64-is-malformed",
        "no-root",
        security(safe_pod(), runAsUser=2**64),
        policy=INPUT_POLICY,
        path="spec.containers[0].securityContext.runAsUser",
    ),
    Attempt(
        "no-root/object-claims-an-excluded-namespace-the-request-does-not",
        "no-root",
        {**ROOT, "metadata": {**ROOT["metadata"], "namespace": "kube-system"}},
        namespace="shop",
        path="spec.containers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/object-without-kind-judged-by-the-request-kind",
        "no-root",
        {k: v for k, v in ROOT.items() if k != "kind"},
        kind="Pod",
        path="spec.containers[0].securityContext.runAsNonRoot",
    ),
    Attempt(
        "no-root/object-kind-lies-about-what-the-request-creates",
        "no-root",
        {**ROOT, "kind": "ConfigMap"},
        kind="Pod",
        path="spec.containers[0].securityContext.runAsNonRoot",
    ),
    # --- no-privileged: init and ephemeral containers, capability spellings, hostProcess, hostPath
    Attempt("no-privileged/control", "no-privileged", safe_pod(), params=NO_PRIVILEGED, allowed=True),
    Attempt(
        "no-privileged/allowed-capability-in-lower-case",
        "no-privileged",
        security(safe_pod(), capabilities={"add": ["net_bind_service"], "drop": ["ALL"]}),
        params=NO_PRIVILEGED,
        allowed=True,
    ),
    Attempt(
        "no-privileged/privileged-init-container",
        "no-privileged",
        security(safe_pod(), "initContainers", privileged=True),
        params=NO_PRIVILEGED,
        path="spec.initContainers[0].securityContext.privileged",
    ),
    Attempt(
        "no-privileged/kubectl-debug-privileged",
        "no-privileged",
        debug_container(privileged=True),
        params=NO_PRIVILEGED,
        operation="UPDATE",
        old_object=DEBUG_OLD,
        subresource="ephemeralcontainers",
        path="spec.ephemeralContainers[0].securityContext.privileged",
    ),
    *(
        Attempt(
            f"no-privileged/capability-{name}",
            "no-privileged",
            security(safe_pod(), capabilities={"add": [name]}),
            params=NO_PRIVILEGED,
        )
        for name in ("SYS_ADMIN", "sys_admin", "Sys_Admin", "CAP_SYS_ADMIN", "cap_sys_admin", "ALL", "all")
    ),
    Attempt(
        "no-privileged/windows-host-process-at-pod-level",
        "no-privileged",
        safe_pod(securityContext={"windowsOptions": {"hostProcess": True}}),
        params=NO_PRIVILEGED,
    ),
    Attempt(
        "no-privileged/windows-host-process-in-an-init-container",
        "no-privileged",
        security(safe_pod(), "initContainers", windowsOptions={"hostProcess": True}),
        params=NO_PRIVILEGED,
    ),
    Attempt(
        "no-privileged/hostpath-after-ordinary-volumes",
        "no-privileged",
        safe_pod(
            volumes=[{"name": "c", "configMap": {"name": "c"}}, {"name": "h", "hostPath": {"path": "/"}}]
        ),
        params=NO_PRIVILEGED,
        path="spec.volumes[1].hostPath",
    ),
    Attempt(
        "no-privileged/hostpath-beside-emptydir-in-one-volume",
        "no-privileged",
        safe_pod(
            volumes=[
                {"name": "x", "emptyDir": {}, "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}
            ]
        ),
        params=NO_PRIVILEGED,
        path="spec.volumes[0].hostPath",
    ),
    Attempt(
        "no-privileged/hostpath-in-a-cronjob",
        "no-privileged",
        controller("CronJob", safe_pod(volumes=[{"name": "h", "hostPath": {"path": "/etc"}}])),
        params=NO_PRIVILEGED,
        path="spec.jobTemplate.spec.template.spec.volumes[0].hostPath",
    ),
    Attempt(
        "no-privileged/host-port-in-a-replicationcontroller",
        "no-privileged",
        controller(
            "ReplicationController", with_container(safe_pod(), ports=[{"containerPort": 80, "hostPort": 80}])
        ),
        params=NO_PRIVILEGED,
    ),
    Attempt(
        "no-privileged/unmasked-proc",
        "no-privileged",
        security(safe_pod(), procMount="Unmasked"),
        params=NO_PRIVILEGED,
    ),
    # --- trusted-registries: image-reference tricks
    Attempt("trusted-registries/control", "trusted-registries", safe_pod(), params=TRUSTED, allowed=True),
    Attempt(
        "trusted-registries/control-path-prefix",
        "trusted-registries",
        with_container(safe_pod(), image="ghcr.io/acme/tools/cli:2.0"),
        params=TRUSTED,
        allowed=True,
    ),
    *(
        Attempt(
            f"trusted-registries/{label}",
            "trusted-registries",
            with_container(safe_pod(), image=image),
            params=TRUSTED,
            path="spec.containers[0].image",
        )
        for label, image in [
            ("lookalike-host-suffix", "registry.example.com.evil.io/shop/app:1.0"),
            ("trusted-name-inside-the-path", "evil.io/registry.example.com/shop/app:1.0"),
            ("trusted-name-as-docker-hub-user", "registry.example.com-mirror/app:1.0"),
            ("missing-registry-means-docker-hub", "nginx:1.27"),
            ("docker-hub-path-named-like-the-registry", "docker.io/registry.example.com/app:1.0"),
            ("another-port-of-the-trusted-host", "registry.example.com:5000/shop/app:1.0"),
            ("organisation-prefix-without-slash-boundary", "ghcr.io/acme-evil/tool:1.0"),
            ("organisation-as-a-longer-name", "ghcr.io/acmecorp/tool:1.0"),
            ("upper-case-lookalike-host", "REGISTRY.EXAMPLE.COM.EVIL.IO/shop/app:1.0"),
            ("cyrillic-lookalike-host", "registry.ex\u0430mple.com/shop/app:1.0"),
            ("userinfo-style-host", "registry.example.com@evil.io/shop/app:1.0"),
            ("empty-image", ""),
        ]
    ),
    Attempt(
        "trusted-registries/untrusted-init-container",
        "trusted-registries",
        with_container(safe_pod(), "initContainers", image="evil.io/init:1.0"),
        params=TRUSTED,
        path="spec.initContainers[0].image",
    ),
    Attempt(
        "trusted-registries/kubectl-debug-with-busybox",
        "trusted-registries",
        with_container(DEBUG_OLD, "ephemeralContainers", image="busybox"),
        params=TRUSTED,
        operation="UPDATE",
        old_object=DEBUG_OLD,
        subresource="ephemeralcontainers",
        path="spec.ephemeralContainers[0].image",
    ),
    # --- Pod Security Standards controls
    Attempt("pss-privileged/control", "pss-privileged", safe_pod(), allowed=True),
    Attempt(
        "pss-privileged/init-container",
        "pss-privileged",
        security(safe_pod(), "initContainers", privileged=True),
        path="spec.initContainers[0].securityContext.privileged",
    ),
    Attempt(
        "pss-host-process/pod-level",
        "pss-host-process",
        safe_pod(securityContext={"windowsOptions": {"hostProcess": True}}),
    ),
    Attempt(
        "pss-host-process/ephemeral-container",
        "pss-host-process",
        security(DEBUG_OLD, "ephemeralContainers", windowsOptions={"hostProcess": True}),
        operation="UPDATE",
        old_object=DEBUG_OLD,
        subresource="ephemeralcontainers",
    ),
    Attempt(
        "pss-sysctls/control",
        "pss-sysctls",
        safe_pod(
            securityContext={"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]}
        ),
        allowed=True,
    ),
    *(
        Attempt(
            f"pss-sysctls/{name}",
            "pss-sysctls",
            safe_pod(
                securityContext={
                    "sysctls": [
                        {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                        {"name": name, "value": "1"},
                    ]
                }
            ),
        )
        for name in (
            "kernel.core_pattern",
            "net.ipv4.ip_forward",
            "KERNEL.SHM_RMID_FORCED",
            "net/ipv4/ip_forward",
            "vm.overcommit_memory",
        )
    ),
    Attempt(
        "pss-host-path-volumes/control",
        "pss-host-path-volumes",
        safe_pod(volumes=[{"name": "e", "emptyDir": {}}]),
        allowed=True,
    ),
    Attempt(
        "pss-host-path-volumes/hidden-after-projected",
        "pss-host-path-volumes",
        controller(
            "DaemonSet",
            safe_pod(
                volumes=[
                    {"name": "p", "projected": {"sources": []}},
                    {"name": "h", "hostPath": {"path": "/"}},
                ]
            ),
        ),
        path="spec.template.spec.volumes[1].hostPath",
    ),
    *(
        Attempt(
            f"pss-volume-types/{source}",
            "pss-volume-types",
            safe_pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "x", source: value}]),
        )
        for source, value in [
            ("hostPath", {"path": "/"}),
            ("nfs", {"server": "nfs.example.com", "path": "/"}),
            ("iscsi", {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:storage", "lun": 0}),
            ("flexVolume", {"driver": "example.com/host"}),
            ("gitRepo", {"repository": "https://example.com/repo.git"}),
            ("rbd", {"monitors": ["10.0.0.1:6789"], "image": "foo"}),
        ]
    ),
    *(
        Attempt(
            f"pss-capabilities-baseline/{name}",
            "pss-capabilities-baseline",
            security(safe_pod(), capabilities={"add": [name]}),
        )
        for name in ("SYS_ADMIN", "sys_admin", "NET_ADMIN", "audit_write")
    ),
    Attempt(
        "pss-capabilities-baseline/control",
        "pss-capabilities-baseline",
        security(safe_pod(), capabilities={"add": ["AUDIT_WRITE", "NET_BIND_SERVICE"]}),
        allowed=True,
    ),
]


def policy_text(check: str, params: dict[str, Any]) -> str:
    document = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "Policy",
        "metadata": {"name": "under-test"},
        "spec": {
            "description": f"bypass catalogue: {check}",
            "remediation": "fix it",
            "actions": ["Deny"],
            "match": {"excludedNamespaces": ["kube-system"]},
            "rules": [{"check": check, "params": params}],
        },
    }
    return yaml.safe_dump(document)


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=lambda a: a.id)
def test_bypass_attempt(attempt: Attempt) -> None:
    assert attempt.check in CHECKS, f"check {attempt.check!r} is not registered"
    policies = load_policy_text(policy_text(attempt.check, attempt.params))
    request = Request(
        object=attempt.object,
        operation=attempt.operation,
        old_object=attempt.old_object,
        subresource=attempt.subresource,
        kind=attempt.kind,
        namespace=attempt.namespace,
    )
    decision = evaluate(policies, request)
    described = [f"{v.policy} {v.path}: {v.message}" for v in decision.violations]
    if attempt.allowed:
        assert decision.allowed, f"the honest control was denied: {described}"
        return
    assert not decision.allowed, "BYPASS: the attempt was allowed"
    assert all(v.policy == attempt.policy for v in decision.denials), described
    if attempt.path is not None:
        assert attempt.path in [v.path for v in decision.violations], described


def test_catalogue_ids_are_unique_and_name_their_check() -> None:
    ids = [a.id for a in ATTEMPTS]
    assert len(ids) == len(set(ids))
    assert all(a.id.startswith(a.check + "/") for a in ATTEMPTS)
    assert sum(a.check in CHECKS for a in ATTEMPTS) >= 25  # the no-root part always runs
