"""Write the Pod Security Standards suites: policies/pod-security/tests/{baseline,restricted}/.

    python tools/gen_pss_fixtures.py            # rewrite the fixtures and suite.yaml files
    python tools/gen_pss_fixtures.py --check    # exit 1 if the committed files are out of date

One table of cases feeds both suites. Each case edits a pod that passes the restricted profile (or the
bare pod, which passes baseline only) and names, by hand, the violations each profile must report:
check id and exact field path. Nothing here runs the engine, so the suites can catch it being wrong.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "policies" / "pod-security" / "tests"
LEVELS = ("baseline", "restricted")
POLICY = {"baseline": "pod-security-baseline", "restricted": "pod-security-restricted"}

Pod = dict[str, Any]
C0 = "spec.containers[0]"
SC = f"{C0}.securityContext"
PSC = "spec.securityContext"


def bare_pod() -> Pod:
    """The minimal pod: passes baseline, fails restricted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:1.4.2"}]},
    }


def restricted_pod() -> Pod:
    """A pod that passes the restricted profile (and so baseline)."""
    pod = bare_pod()
    pod["spec"]["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    pod["spec"]["containers"][0]["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    return pod


def hardened(name: str, **extra: Any) -> dict[str, Any]:
    """A container with the restricted settings of its own."""
    return {
        "name": name,
        "image": "registry.example.com/shop/tools:2.0",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, **extra},
    }


@dataclass
class Case:
    name: str  # written pass-*/fail-* for the reader; each suite file says pass-/fail- for its own profile
    edit: Callable[[Pod], None]
    baseline: list[tuple[str, str]] = field(default_factory=list)  # (check id, path) expected
    restricted: list[tuple[str, str]] = field(default_factory=list)
    base: Callable[[], Pod] = restricted_pod
    kind: str = "Pod"  # Deployment / CronJob wrap the pod as their template
    levels: tuple[str, ...] = LEVELS
    old: Callable[[Pod], None] | None = None  # an UPDATE: this edit of a copy of the new pod is the old one
    sub_resource: str = ""


def sc(pod: Pod, index: int = 0, field: str = "containers") -> dict[str, Any]:
    return pod["spec"][field][index].setdefault("securityContext", {})


def psc(pod: Pod) -> dict[str, Any]:
    return pod["spec"].setdefault("securityContext", {})


def nothing(pod: Pod) -> None:
    pass


def all_allowed_values(pod: Pod) -> None:
    """Every allowed non-default value of every control at once: must pass both profiles."""
    spec = pod["spec"]
    spec.update(hostNetwork=False, hostPID=False, hostIPC=False)
    psc(pod).update(
        appArmorProfile={"type": "RuntimeDefault"},
        seLinuxOptions={"type": "container_engine_t", "user": "", "role": ""},
        runAsUser=1000,
        windowsOptions={"hostProcess": False},
        sysctls=[{"name": n, "value": "1"} for n in (
            "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
            "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
            "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
            "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat")],
    )  # fmt: skip
    pod["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/web": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/init": "localhost/k8s-init",
        "container.apparmor.security.beta.kubernetes.io/other": "",
    }
    c = spec["containers"][0]
    c["ports"] = [{"containerPort": 8080, "hostPort": 0}]
    c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080, "host": ""}}
    c["readinessProbe"] = {"tcpSocket": {"port": 8080}}
    c["lifecycle"] = {"preStop": {"httpGet": {"path": "/stop", "port": 8080}}}
    c["securityContext"].update(
        privileged=False,
        procMount="Default",
        runAsNonRoot=True,
        runAsUser=1001,
        appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-web"},
        seLinuxOptions={"type": "container_t"},
        seccompProfile={"type": "Localhost", "localhostProfile": "profiles/web.json"},
    )
    c["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    spec["initContainers"] = [hardened("init", seLinuxOptions={"type": "container_init_t"})]
    spec["volumes"] = [
        {"name": "config", "configMap": {"name": "web"}},
        {"name": "csi", "csi": {"driver": "inline.storage.example.com"}},
        {
            "name": "info",
            "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
        },
        {"name": "scratch", "emptyDir": {}},
        {
            "name": "ephemeral",
            "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}},
        },
        {"name": "model", "image": {"reference": "registry.example.com/shop/model:1"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}},
        {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
        {"name": "tls", "secret": {"secretName": "web-tls"}},
    ]


def edits(*steps: Callable[[Pod], None]) -> Callable[[Pod], None]:
    def run(pod: Pod) -> None:
        for step in steps:
            step(pod)

    return run


def set_sc(values: dict[str, Any], index: int = 0, field: str = "containers") -> Callable[[Pod], None]:
    return lambda pod: sc(pod, index, field).update(copy.deepcopy(values))


def set_psc(values: dict[str, Any]) -> Callable[[Pod], None]:
    return lambda pod: psc(pod).update(copy.deepcopy(values))


def drop_psc(*keys: str) -> Callable[[Pod], None]:
    return lambda pod: [psc(pod).pop(k, None) for k in keys] and None


def drop_sc(*keys: str) -> Callable[[Pod], None]:
    return lambda pod: [sc(pod).pop(k, None) for k in keys] and None


def set_spec(**values: Any) -> Callable[[Pod], None]:
    return lambda pod: pod["spec"].update(copy.deepcopy(values))


def set_container(**values: Any) -> Callable[[Pod], None]:
    return lambda pod: pod["spec"]["containers"][0].update(copy.deepcopy(values))


def annotate(**values: str) -> Callable[[Pod], None]:
    return lambda pod: pod["metadata"].setdefault("annotations", {}).update(values)


APPARMOR = "container.apparmor.security.beta.kubernetes.io/web"
RESTRICTED_BARE = [
    ("pss-seccomp-restricted", f"{SC}.seccompProfile.type"),
    ("pss-capabilities-restricted", f"{SC}.capabilities.drop"),
    ("pss-privilege-escalation", f"{SC}.allowPrivilegeEscalation"),
    ("pss-run-as-non-root", f"{SC}.runAsNonRoot"),
]
EPHEMERAL = "spec.ephemeralContainers[0]"

CASES = [
    # --- passes ---------------------------------------------------------------------------------
    Case("pass-restricted-pod", nothing),
    Case("pass-bare-pod", nothing, base=bare_pod, restricted=RESTRICTED_BARE),
    Case("pass-all-allowed-values", all_allowed_values),
    Case("pass-deployment", nothing, kind="Deployment"),
    Case("pass-cronjob", nothing, kind="CronJob"),
    Case(  # container-level settings stand in for the pod's
        "pass-container-overrides-pod",
        edits(
            drop_psc("runAsNonRoot", "seccompProfile"),
            set_sc({"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}),
        ),
    ),
    Case(  # KEP-127: root in a user namespace is not root on the node
        "pass-user-namespace-root",
        edits(
            set_spec(hostUsers=False),
            set_psc({"runAsNonRoot": False, "runAsUser": 0}),
            set_sc({"runAsUser": 0}),
        ),
    ),
    Case(  # restricted exempts Windows pods from seccomp, capabilities and privilege escalation
        "pass-windows-pod",
        edits(
            set_spec(os={"name": "windows"}),
            drop_psc("seccompProfile"),
            drop_sc("allowPrivilegeEscalation", "capabilities"),
        ),
    ),
    # --- baseline controls (the restricted profile keeps them) ------------------------------------
    Case(
        "fail-host-process-pod",
        set_psc({"windowsOptions": {"hostProcess": True}}),
        baseline=[("pss-host-process", f"{PSC}.windowsOptions.hostProcess")],
    ),
    Case(
        "fail-host-process-init-container",
        set_spec(initContainers=[hardened("init", windowsOptions={"hostProcess": True})]),
        baseline=[("pss-host-process", "spec.initContainers[0].securityContext.windowsOptions.hostProcess")],
    ),
    Case(
        "fail-host-process-windows-pod",
        edits(set_spec(os={"name": "windows"}), set_sc({"windowsOptions": {"hostProcess": True}})),
        baseline=[("pss-host-process", f"{SC}.windowsOptions.hostProcess")],
    ),
    Case(
        "fail-host-namespaces",
        set_spec(hostNetwork=True, hostPID=True, hostIPC=True),
        baseline=[("pss-host-namespaces", f"spec.{f}") for f in ("hostNetwork", "hostPID", "hostIPC")],
    ),
    Case("fail-privileged", set_sc({"privileged": True}), baseline=[("pss-privileged", f"{SC}.privileged")]),
    Case(
        "fail-privileged-init-container",
        set_spec(initContainers=[hardened("init", privileged=True)]),
        baseline=[("pss-privileged", "spec.initContainers[0].securityContext.privileged")],
    ),
    Case(
        "fail-privileged-ephemeral-container",
        set_spec(
            ephemeralContainers=[{**hardened("debugger", privileged=True), "targetContainerName": "web"}]
        ),
        baseline=[("pss-privileged", f"{EPHEMERAL}.securityContext.privileged")],
    ),
    Case(
        "fail-capability-sys-admin",
        set_sc({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}}),
        baseline=[("pss-capabilities-baseline", f"{SC}.capabilities.add[1]")],
        restricted=[("pss-capabilities-restricted", f"{SC}.capabilities.add[1]")],
    ),
    Case(  # names are exact: the lower-case spelling is not on the allow-list
        "fail-capability-lower-case",
        set_sc({"capabilities": {"drop": ["ALL"], "add": ["chown"]}}),
        baseline=[("pss-capabilities-baseline", f"{SC}.capabilities.add[0]")],
        restricted=[("pss-capabilities-restricted", f"{SC}.capabilities.add[0]")],
    ),
    Case(
        "fail-host-path-volume",
        set_spec(volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]),
        baseline=[("pss-host-path-volumes", "spec.volumes[0].hostPath")],
        restricted=[("pss-volume-types", "spec.volumes[0].hostPath")],
    ),
    Case(
        "fail-host-port",
        set_container(ports=[{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]),
        baseline=[("pss-host-ports", f"{C0}.ports[1].hostPort")],
    ),
    Case(
        "fail-host-port-ephemeral-container",
        set_spec(
            ephemeralContainers=[
                {**hardened("debugger"), "ports": [{"containerPort": 9000, "hostPort": 9000}]}
            ]
        ),
        baseline=[("pss-host-ports", f"{EPHEMERAL}.ports[0].hostPort")],
    ),
    Case(
        "fail-probe-hosts",
        set_container(
            livenessProbe={"httpGet": {"path": "/", "port": 80, "host": "169.254.169.254"}},
            readinessProbe={"tcpSocket": {"port": 10250, "host": "10.0.0.1"}},
            startupProbe={"httpGet": {"path": "/", "port": 80}},
        ),
        baseline=[
            ("pss-host-probes", f"{C0}.livenessProbe.httpGet.host"),
            ("pss-host-probes", f"{C0}.readinessProbe.tcpSocket.host"),
        ],
    ),
    Case(
        "fail-lifecycle-hosts",
        set_spec(
            initContainers=[
                {
                    **hardened("init"),
                    "restartPolicy": "Always",
                    "lifecycle": {
                        "postStart": {"tcpSocket": {"port": 22, "host": "node.internal"}},
                        "preStop": {"httpGet": {"path": "/drain", "port": 80, "host": "localhost"}},
                    },
                }
            ]
        ),
        baseline=[
            ("pss-host-probes", "spec.initContainers[0].lifecycle.postStart.tcpSocket.host"),
            ("pss-host-probes", "spec.initContainers[0].lifecycle.preStop.httpGet.host"),
        ],
    ),
    Case(
        "fail-apparmor-unconfined-pod",
        set_psc({"appArmorProfile": {"type": "Unconfined"}}),
        baseline=[("pss-apparmor", f"{PSC}.appArmorProfile.type")],
    ),
    Case(  # the container's profile overrides an allowed pod profile
        "fail-apparmor-unconfined-container",
        edits(
            set_psc({"appArmorProfile": {"type": "RuntimeDefault"}}),
            set_sc({"appArmorProfile": {"type": "Unconfined"}}),
        ),
        baseline=[("pss-apparmor", f"{SC}.appArmorProfile.type")],
    ),
    Case(
        "fail-apparmor-annotation",
        annotate(**{APPARMOR: "unconfined"}),
        baseline=[("pss-apparmor", f"metadata.annotations['{APPARMOR}']")],
    ),
    Case(
        "fail-selinux-type",
        set_sc({"seLinuxOptions": {"type": "spc_t"}}),
        baseline=[("pss-selinux", f"{SC}.seLinuxOptions.type")],
    ),
    Case(
        "fail-selinux-user-role",
        set_psc({"seLinuxOptions": {"user": "system_u", "role": "system_r", "level": "s0:c123,c456"}}),
        baseline=[
            ("pss-selinux", f"{PSC}.seLinuxOptions.user"),
            ("pss-selinux", f"{PSC}.seLinuxOptions.role"),
        ],
    ),
    Case(
        "fail-proc-mount-unmasked",
        set_sc({"procMount": "Unmasked"}),
        baseline=[("pss-proc-mount-baseline", f"{SC}.procMount")],
        restricted=[("pss-proc-mount-restricted", f"{SC}.procMount")],
    ),
    Case(  # baseline exempts user-namespace pods; restricted does not
        "fail-proc-mount-unmasked-user-namespace",
        edits(set_spec(hostUsers=False), set_sc({"procMount": "Unmasked"})),
        restricted=[("pss-proc-mount-restricted", f"{SC}.procMount")],
    ),
    Case(  # a bad pod profile is refused, and then no container inherits an allowed one
        "fail-seccomp-unconfined-pod",
        set_psc({"seccompProfile": {"type": "Unconfined"}}),
        baseline=[("pss-seccomp-baseline", f"{PSC}.seccompProfile.type")],
        restricted=[
            ("pss-seccomp-restricted", f"{PSC}.seccompProfile.type"),
            ("pss-seccomp-restricted", f"{SC}.seccompProfile.type"),
        ],
    ),
    Case(
        "fail-seccomp-unconfined-container",
        set_sc({"seccompProfile": {"type": "Unconfined"}}),
        baseline=[("pss-seccomp-baseline", f"{SC}.seccompProfile.type")],
        restricted=[("pss-seccomp-restricted", f"{SC}.seccompProfile.type")],
    ),
    Case(
        "fail-sysctls",
        set_psc(
            {
                "sysctls": [
                    {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                    {"name": "kernel.msgmax", "value": "65536"},
                ]
            }
        ),
        baseline=[("pss-sysctls", f"{PSC}.sysctls[1].name")],
    ),
    # --- restricted-only controls -----------------------------------------------------------------
    Case(
        "fail-volume-nfs",
        set_spec(
            volumes=[
                {"name": "scratch", "emptyDir": {}},
                {"name": "share", "nfs": {"server": "nfs.example.com", "path": "/"}},
            ]
        ),
        restricted=[("pss-volume-types", "spec.volumes[1].nfs")],
    ),
    Case(
        "fail-privilege-escalation",
        set_sc({"allowPrivilegeEscalation": True}),
        restricted=[("pss-privilege-escalation", f"{SC}.allowPrivilegeEscalation")],
    ),
    Case(  # unset means allowed
        "fail-privilege-escalation-unset-init-container",
        set_spec(
            initContainers=[
                {
                    "name": "init",
                    "image": "busybox:1.36",
                    "securityContext": {"capabilities": {"drop": ["ALL"]}},
                }
            ]
        ),
        restricted=[
            ("pss-privilege-escalation", "spec.initContainers[0].securityContext.allowPrivilegeEscalation")
        ],
    ),
    Case(  # `kubectl debug` without a security context: inherits the pod's runAsNonRoot and seccomp only
        "fail-ephemeral-container-not-hardened",
        set_spec(
            ephemeralContainers=[{"name": "debugger", "image": "busybox:1.36", "targetContainerName": "web"}]
        ),
        restricted=[
            ("pss-privilege-escalation", f"{EPHEMERAL}.securityContext.allowPrivilegeEscalation"),
            ("pss-capabilities-restricted", f"{EPHEMERAL}.securityContext.capabilities.drop"),
        ],
    ),
    Case(  # the container's explicit false overrides the pod's true
        "fail-run-as-non-root-container-false",
        set_sc({"runAsNonRoot": False}),
        restricted=[("pss-run-as-non-root", f"{SC}.runAsNonRoot")],
    ),
    Case(  # an explicit pod-level false is refused even when every container says true
        "fail-run-as-non-root-pod-false",
        edits(set_psc({"runAsNonRoot": False}), set_sc({"runAsNonRoot": True})),
        restricted=[("pss-run-as-non-root", f"{PSC}.runAsNonRoot")],
    ),
    Case(
        "fail-run-as-non-root-unset",
        edits(drop_psc("runAsNonRoot"), set_spec(initContainers=[hardened("init", runAsNonRoot=True)])),
        restricted=[("pss-run-as-non-root", f"{SC}.runAsNonRoot")],
    ),
    Case(
        "fail-run-as-user-root-pod",
        set_psc({"runAsUser": 0}),
        restricted=[("pss-run-as-user", f"{PSC}.runAsUser")],
    ),
    Case(  # a container's non-zero UID does not excuse the pod's 0, nor the reverse
        "fail-run-as-user-root-init-container",
        edits(set_psc({"runAsUser": 1000}), set_spec(initContainers=[hardened("init", runAsUser=0)])),
        restricted=[("pss-run-as-user", "spec.initContainers[0].securityContext.runAsUser")],
    ),
    Case(
        "fail-seccomp-unset",
        drop_psc("seccompProfile"),
        restricted=[("pss-seccomp-restricted", f"{SC}.seccompProfile.type")],
    ),
    Case(
        "fail-capabilities-not-dropped",
        set_sc({"capabilities": {"drop": ["NET_RAW", "all"]}}),
        restricted=[("pss-capabilities-restricted", f"{SC}.capabilities.drop")],
    ),
    Case(
        "fail-capability-chown-added",
        set_sc({"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}),
        restricted=[("pss-capabilities-restricted", f"{SC}.capabilities.add[0]")],
    ),
    # --- pod templates --------------------------------------------------------------------------
    Case(
        "fail-deployment-privileged",
        set_sc({"privileged": True}),
        baseline=[("pss-privileged", f"{SC}.privileged")],
        kind="Deployment",
    ),
    Case(
        "fail-cronjob-host-path",
        set_spec(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]),
        baseline=[("pss-host-path-volumes", "spec.volumes[0].hostPath")],
        restricted=[("pss-volume-types", "spec.volumes[0].hostPath")],
        kind="CronJob",
    ),
    Case(
        "fail-cronjob-bare-pod",
        nothing,
        base=bare_pod,
        restricted=RESTRICTED_BARE,
        kind="CronJob",
        levels=("restricted",),
    ),
]


def relabel(pod: Pod) -> None:
    pod["metadata"]["labels"]["version"] = "previous"


def older_image(pod: Pod) -> None:
    pod["spec"]["containers"][0]["image"] = "registry.example.com/shop/web:1.4.1"


def without_ephemeral(pod: Pod) -> None:
    del pod["spec"]["ephemeralContainers"]


PRIVILEGED = [("pss-privileged", f"{SC}.privileged")]
# UPDATEs, judged as Pod Security Admission judges them (`podSecurityUpdates: true`).
CASES += [
    Case(  # nothing security-relevant changed: allowed unjudged, although the pod violates both profiles
        "pass-update-labels-of-violating-pod",
        set_sc({"privileged": True}),
        old=relabel,
    ),
    Case(  # a new image is judged in full: the old violation counts again
        "fail-update-image-of-violating-pod",
        set_sc({"privileged": True}),
        baseline=PRIVILEGED,
        old=older_image,
    ),
    Case(  # the seccomp annotation of a container is still a significant change
        "fail-update-seccomp-annotation-of-violating-pod",
        edits(
            set_sc({"privileged": True}),
            annotate(**{"container.seccomp.security.alpha.kubernetes.io/web": "runtime/default"}),
        ),
        baseline=PRIVILEGED,
        old=lambda pod: pod["metadata"].pop("annotations"),
    ),
    Case(  # `kubectl debug` adding a hardened container to a violating pod: the whole pod is judged
        "fail-update-ephemeral-container-added-to-violating-pod",
        edits(
            set_sc({"privileged": True}),
            set_spec(ephemeralContainers=[{**hardened("debugger"), "targetContainerName": "web"}]),
        ),
        baseline=PRIVILEGED,
        old=without_ephemeral,
        sub_resource="ephemeralcontainers",
    ),
    Case(  # an ephemeralcontainers update that adds nothing changes nothing
        "pass-update-ephemeral-containers-unchanged",
        edits(
            set_sc({"privileged": True}),
            set_spec(ephemeralContainers=[{"name": "debugger", "image": "busybox:1.36"}]),
        ),
        old=relabel,
        sub_resource="ephemeralcontainers",
    ),
    Case(  # workloads are judged in full on every update
        "fail-update-deployment",
        set_sc({"privileged": True}),
        baseline=PRIVILEGED,
        old=relabel,
        kind="Deployment",
    ),
]
# The restricted profile keeps every baseline control it does not replace: a baseline violation is a
# restricted one too, unless the case names the restricted replacement.
REPLACED = {
    "pss-host-path-volumes",
    "pss-seccomp-baseline",
    "pss-capabilities-baseline",
    "pss-proc-mount-baseline",
}
PREFIX = {"Pod": "", "Deployment": "spec.template.", "CronJob": "spec.jobTemplate.spec.template."}


def wrap(pod: Pod, kind: str) -> Pod:
    if kind == "Pod":
        return pod
    template = {"metadata": {"labels": pod["metadata"]["labels"]}, "spec": pod["spec"]}
    if "annotations" in pod["metadata"]:
        template["metadata"]["annotations"] = pod["metadata"]["annotations"]
    meta = {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"]}
    if kind == "Deployment":
        selector = {"matchLabels": pod["metadata"]["labels"]}
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                "spec": {"replicas": 2, "selector": selector, "template": template}}  # fmt: skip
    template["spec"]["restartPolicy"] = "OnFailure"
    return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta,
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}}  # fmt: skip


def expected(case: Case, level: str) -> list[tuple[str, str]]:
    found = list(case.baseline) if level == "baseline" else [v for v in case.baseline if v[0] not in REPLACED]
    if level == "restricted":
        found += case.restricted
    return [(check, PREFIX[case.kind] + path) for check, path in found]


def render(level: str) -> dict[str, str]:
    """File name -> YAML text for one suite."""
    files: dict[str, str] = {}
    cases = []
    for case in CASES:
        if level not in case.levels:
            continue
        pod = case.base()
        case.edit(pod)
        violations = expected(case, level)
        stem = case.name.removeprefix("pass-").removeprefix("fail-")
        name = f"{'fail' if violations else 'pass'}-{stem}"  # the expectation is in the file name
        entry: dict[str, Any] = {"name": name, "object": f"{name}.yaml"}
        if case.old is not None:
            old = copy.deepcopy(pod)
            case.old(old)
            files[f"{name}.old.yaml"] = yaml.safe_dump(wrap(old, case.kind), sort_keys=False, width=110)
            entry.update(operation="UPDATE", oldObject=f"{name}.old.yaml")
            if case.sub_resource:
                entry["subResource"] = case.sub_resource
        files[f"{name}.yaml"] = yaml.safe_dump(wrap(pod, case.kind), sort_keys=False, width=110)
        violation_list = [
            {"policy": POLICY[level], "rule": check, "path": path} for check, path in violations
        ]
        entry["expect"] = {
            "allowed": not violations,
            "violations": violation_list,
        }  # exact: nothing unexpected
        cases.append(entry)
    suite = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "PolicyTest",
        "metadata": {"name": POLICY[level]},
        "spec": {"policies": [f"../../{level}.yaml"], "cases": cases},
    }
    header = "# Generated by tools/gen_pss_fixtures.py: edit the table there, then run it.\n"
    files["suite.yaml"] = header + yaml.safe_dump(suite, sort_keys=False, width=110)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    args = parser.parse_args(argv)
    stale = []
    for level in LEVELS:
        folder = OUT / level
        files = render(level)
        existing = {p.name for p in folder.glob("*.yaml")} if folder.exists() else set()
        for name in sorted(existing - files.keys()):
            stale.append(folder / name)
            if not args.check:
                (folder / name).unlink()
        for name, text in files.items():
            path = folder / name
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(path)
            if not args.check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run tools/gen_pss_fixtures.py):", *map(str, stale), sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
