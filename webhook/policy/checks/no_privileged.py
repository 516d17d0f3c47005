"""no-privileged: nothing in the pod may reach past the container boundary into the node.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
  spec.hostNetwork, spec.hostPID, spec.hostIPC
  spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort
  spec.volumes[*].hostPath
  spec.securityContext.windowsOptions.hostProcess
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values:
  privileged: false, undefined/null
  allowPrivilegeEscalation: false, undefined/null (privilegeEscalation: RequireFalse: false only)
  capabilities.add: only names in allowedCapabilities, compared case-insensitively and with or
    without the `CAP_` prefix (the runtime adds it), so `net_bind_service` = `CAP_NET_BIND_SERVICE`
  hostNetwork, hostPID, hostIPC: false, undefined/null (unless allowed by a parameter)
  hostPort: undefined/null, 0, or a port in allowedHostPorts
  hostPath: none, or a path under an allowedHostPaths prefix (on `/` boundaries, after resolving
    `.` and `..`), with every mount of it read-only when that entry says readOnly
  hostProcess: false, undefined/null
  procMount: Default, undefined/null (Unmasked exposes the node's /proc)
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import context_finding, host_port_findings

Port = Annotated[int, Field(ge=1, le=65535)]


def _capability_name(name: str) -> str:
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"{name!r} is not a capability name (e.g. NET_BIND_SERVICE)")
    return name


class HostPathRule(CheckParams):
    path_prefix: str
    read_only: bool = False

    @field_validator("path_prefix")
    @classmethod
    def _absolute(cls, prefix: str) -> str:
        if not prefix.startswith("/"):
            raise ValueError(f"pathPrefix {prefix!r} must be an absolute path")
        return normalize_host_path(prefix)


class Params(CheckParams):
    allowed_capabilities: list[Annotated[str, AfterValidator(_capability_name)]] = Field(default_factory=list)
    privilege_escalation: Literal["ForbidTrue", "RequireFalse"] = "ForbidTrue"
    allow_host_network: bool = False
    allow_host_pid: bool = Field(default=False, alias="allowHostPID")
    allow_host_ipc: bool = Field(default=False, alias="allowHostIPC")
    allowed_host_ports: list[Port] = Field(default_factory=list)
    allowed_host_paths: list[HostPathRule] = Field(default_factory=list)


def capability_key(name: str) -> str:
    """The runtime's reading of a capability name: case-insensitive, `CAP_` prefix optional."""
    upper = name.upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def normalize_host_path(path: str) -> str:
    """`/var/log/../../etc/` -> `/etc`: compare what the kubelet mounts, not how it was spelled."""
    return posixpath.normpath("/" + path.lstrip("/"))


def under(path: str, prefix: str) -> bool:
    """`path` is `prefix` or below it on a `/` boundary (`/var/log` is not under `/var/lo`)."""
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


@check("no-privileged", params=Params, summary="no privileged containers, host namespaces, ports or paths")
def build(params: Params) -> CheckFn:
    allowed_caps = frozenset(capability_key(c) for c in params.allowed_capabilities)
    allowed_spelled = allowed_caps | {f"CAP_{c}" for c in allowed_caps}  # the usual spellings, no call
    require_false = params.privilege_escalation == "RequireFalse"
    host_namespaces = tuple(
        field
        for field, allowed in (
            ("hostNetwork", params.allow_host_network),
            ("hostPID", params.allow_host_pid),
            ("hostIPC", params.allow_host_ipc),
        )
        if not allowed
    )
    allowed_ports = frozenset(params.allowed_host_ports)
    path_rules = tuple((r.path_prefix, r.read_only) for r in params.allowed_host_paths)

    def run(pod: PodView) -> Iterator[Finding]:
        spec = pod.spec
        for field in host_namespaces:
            if spec.get(field) is True:
                yield Finding(
                    path=f"{pod.spec_path}.{field}",
                    value=True,
                    problem=f"the pod ({pod.spec_path}) must not use the node's {_NAMESPACE_NOUN[field]}",
                    fix=f"set {field} to false or remove it",
                )
        pod_sc = spec.get("securityContext") or {}
        if (pod_sc.get("windowsOptions") or {}).get("hostProcess") is True:
            yield context_finding(
                pod, HOST_PROCESS, True, "must not run as a Windows host process", HOST_PROCESS_FIX
            )
        yield from _host_paths(pod, path_rules)
        for c in pod.containers:
            sc = c.spec.get("securityContext") or {}
            if sc.get("privileged") is True:
                yield context_finding(
                    c,
                    ("privileged",),
                    True,
                    "must not run privileged",
                    "set securityContext.privileged to false",
                )
            escalation = sc.get("allowPrivilegeEscalation")
            if escalation is True or (require_false and escalation is not False):
                yield context_finding(
                    c,
                    ("allowPrivilegeEscalation",),
                    escalation,
                    "must not allow privilege escalation",
                    "set securityContext.allowPrivilegeEscalation to false",
                )
            added = (sc.get("capabilities") or {}).get("add") or []
            for i, capability in enumerate(added):
                if capability not in allowed_spelled and capability_key(capability) not in allowed_caps:
                    allowed = ", ".join(sorted(allowed_caps)) or "none"
                    yield context_finding(
                        c,
                        ("capabilities", f"add[{i}]"),
                        capability,
                        f"must not add capability {capability}",
                        f"remove it from securityContext.capabilities.add (allowed: {allowed})",
                    )
            if (sc.get("windowsOptions") or {}).get("hostProcess") is True:
                yield context_finding(
                    c, HOST_PROCESS, True, "must not run as a Windows host process", HOST_PROCESS_FIX
                )
            proc_mount = sc.get("procMount")
            if proc_mount is not None and proc_mount != "Default":
                yield context_finding(
                    c,
                    ("procMount",),
                    proc_mount,
                    f"must not unmask /proc (procMount {proc_mount})",
                    "set securityContext.procMount to Default or remove it",
                )
            yield from host_port_findings(c, allowed_ports)

    return run


HOST_PROCESS = ("windowsOptions", "hostProcess")
HOST_PROCESS_FIX = "set securityContext.windowsOptions.hostProcess to false or remove it"
_NAMESPACE_NOUN = {"hostNetwork": "network namespace", "hostPID": "PID namespace", "hostIPC": "IPC namespace"}


def _host_paths(pod: PodView, rules: tuple[tuple[str, bool], ...]) -> Iterator[Finding]:
    for i, volume in enumerate(pod.spec.get("volumes") or ()):
        host_path = volume.get("hostPath")
        if host_path is None:
            continue
        raw = host_path.get("path") or ""
        path = normalize_host_path(raw) if raw.startswith("/") else None
        matching = [read_only for prefix, read_only in rules if path is not None and under(path, prefix)]
        name = volume.get("name") or ""
        where = f"{pod.spec_path}.volumes[{i}].hostPath"
        if not matching:
            yield Finding(
                path=where,
                value=raw,
                problem=f'volume "{name}" ({pod.spec_path}.volumes[{i}]) must not mount host path {raw!r}',
                fix="use an emptyDir, configMap, secret or persistent volume instead of hostPath",
            )
        elif all(matching):  # every allowing entry demands read-only mounts
            yield from _writable_mounts(pod, name, raw)


def _writable_mounts(pod: PodView, volume: str, raw: str) -> Iterator[Finding]:
    for c in pod.containers:
        for j, mount in enumerate(c.spec.get("volumeMounts") or ()):
            if mount.get("name") == volume and mount.get("readOnly") is not True:
                yield Finding(
                    path=f"{c.path}.volumeMounts[{j}].readOnly",
                    value=mount.get("readOnly"),
                    problem=f"{c.label} must mount host path {raw!r} (volume {volume!r}) read-only",
                    fix="set readOnly: true on the volume mount",
                    image=c.image,
                )
