"""Shared helpers of the Pod Security Standards checks (`pss-*`).

The checks follow the upstream reference implementation (Pod Security Admission, `latest`), control
by control: the same fields, the same allowed values, the same rules for which setting wins. Facts
that several controls share live here, so every check reads them the same way.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from typing import Any, Final

from ..podspec import ContainerView, PodView
from ..result import Finding

# Seccomp and AppArmor profile types that keep a confinement in force.
CONFINED_PROFILE_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})
SECCOMP_FIX: Final = "set securityContext.seccompProfile.type to RuntimeDefault or Localhost"


def security_context(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """`node.securityContext` as a mapping ({} when unset or null)."""
    return node.get("securityContext") or {}


def is_windows(pod: PodView) -> bool:
    """`spec.os.name: windows`: some restricted controls do not apply to Windows pods."""
    return (pod.spec.get("os") or {}).get("name") == "windows"


def in_user_namespace(pod: PodView) -> bool:
    """`spec.hostUsers: false`: the pod runs in its own user namespace (KEP-127).

    Root in a user namespace is not root on the node, so the reference relaxes the non-root controls
    (and the baseline /proc mount control) for such pods; `hostUsers` itself is never restricted.
    """
    return pod.spec.get("hostUsers") is False


def pod_context_path(pod: PodView, *fields: str) -> str:
    return ".".join((pod.spec_path, "securityContext", *fields))


def container_context_path(c: ContainerView, *fields: str) -> str:
    return ".".join((c.path, "securityContext", *fields))


def annotation_path(pod: PodView, key: str) -> str:
    return f"{pod.metadata_path}.annotations['{key}']"


def pod_label(pod: PodView) -> str:
    return f"the pod ({pod.spec_path})"


def proc_mount_findings(pod: PodView) -> Iterator[Finding]:
    """Containers whose procMount is set to anything but Default (i.e. Unmasked)."""
    for c in pod.containers:
        proc_mount = security_context(c.spec).get("procMount")
        if proc_mount is not None and proc_mount != "Default":
            yield Finding(
                path=container_context_path(c, "procMount"),
                value=proc_mount,
                problem=f'{c.label} must not set procMount "{proc_mount}" (it unmasks /proc)',
                fix="remove securityContext.procMount or set it to Default",
                image=c.image,
            )


def pod_and_containers(pod: PodView) -> tuple[PodView | ContainerView, ...]:
    """The pod, then each of its containers: the places a securityContext setting can be made."""
    return (pod, *pod.containers)


def context_finding(
    where: PodView | ContainerView, fields: tuple[str, ...], value: Any, problem: str, fix: str
) -> Finding:
    """A finding on the securityContext of the pod or of one container: `problem` follows its label."""
    if isinstance(where, ContainerView):
        path = container_context_path(where, *fields)
        return Finding(path, value, f"{where.label} {problem}", fix, image=where.image)
    return Finding(pod_context_path(where, *fields), value, f"{pod_label(where)} {problem}", fix)


def unconfined_profile_findings(pod: PodView, field: str, noun: str, fix: str) -> Iterator[Finding]:
    """Explicit `field` profiles (pod first, then each container) whose type is not confining."""
    for where in pod_and_containers(pod):
        profile = security_context(where.spec).get(field)
        if profile is not None and profile.get("type") not in CONFINED_PROFILE_TYPES:
            kind = profile.get("type")
            problem = f'must not set {noun} profile type "{kind or ""}"'
            yield context_finding(where, (field, "type"), kind, problem, fix)


HOST_PORT_FIX: Final = "remove hostPort and reach the pod through a Service"


def host_port_findings(c: ContainerView, allowed: Container[int] = ()) -> Iterator[Finding]:
    """Ports bound on the node: a `hostPort` other than unset, 0 or one of `allowed`."""
    for index, port in enumerate(c.spec.get("ports") or ()):
        host_port = port.get("hostPort")
        if host_port and host_port not in allowed:  # None and 0 both mean "no host port"
            yield Finding(
                path=f"{c.path}.ports[{index}].hostPort",
                value=host_port,
                problem=f"{c.label} must not bind host port {host_port}",
                fix=HOST_PORT_FIX,
                image=c.image,
            )


def added_capability_findings(c: ContainerView, allowed: Container[str], fix: str) -> Iterator[Finding]:
    """Capabilities that container `c` adds (securityContext.capabilities.add) beyond `allowed`."""
    capabilities = security_context(c.spec).get("capabilities") or {}
    for index, capability in enumerate(capabilities.get("add") or ()):
        if capability not in allowed:
            problem = f'must not add capability "{capability}"'
            yield context_finding(c, ("capabilities", f"add[{index}]"), capability, problem, fix)


def seccomp_type_findings(pod: PodView) -> tuple[list[Finding], bool]:
    """Explicit seccompProfile settings whose type is not RuntimeDefault or Localhost.

    Also returns whether the pod level sets an allowed profile (which containers then inherit).
    """
    profile = security_context(pod.spec).get("seccompProfile")
    pod_confined = profile is not None and profile.get("type") in CONFINED_PROFILE_TYPES
    return list(unconfined_profile_findings(pod, "seccompProfile", "seccomp", SECCOMP_FIX)), pod_confined
