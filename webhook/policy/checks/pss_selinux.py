"""pss-selinux: no custom SELinux user or role, and only the container types (baseline).

Restricted fields:
  spec.securityContext.seLinuxOptions.{type,user,role}
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seLinuxOptions.{type,user,role}
Allowed values:
  type: undefined/null, "", container_t, container_init_t, container_kvm_t, container_engine_t (v1.31+)
  user, role: undefined/null, ""
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._pss import container_context_path, pod_context_path, pod_label, security_context

ALLOWED_TYPES: Final = frozenset({"container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


class Params(CheckParams):
    pass


def _problems(options: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field, value, fix) for every forbidden part of one seLinuxOptions."""
    selinux_type = options.get("type")
    if selinux_type and selinux_type not in ALLOWED_TYPES:
        yield "type", selinux_type, "use one of " + ", ".join(sorted(ALLOWED_TYPES)) + ", or remove it"
    for field in ("user", "role"):
        if options.get(field):
            yield field, options[field], f"remove seLinuxOptions.{field}"


def _findings(options: Mapping[str, Any], label: str, base: str, image: str | None) -> Iterator[Finding]:
    for field, value, fix in _problems(options):
        yield Finding(
            path=f"{base}.{field}",
            value=value,
            problem=f'{label} must not set SELinux {field} "{value}"',
            fix=fix,
            image=image,
        )


@check("pss-selinux", params=Params, summary="no custom SELinux type, user or role (PSS baseline)")
def build(params: Params) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        options = security_context(pod.spec).get("seLinuxOptions")
        if options:
            yield from _findings(options, pod_label(pod), pod_context_path(pod, "seLinuxOptions"), None)
        for c in pod.containers:
            options = security_context(c.spec).get("seLinuxOptions")
            if options:
                yield from _findings(options, c.label, container_context_path(c, "seLinuxOptions"), c.image)

    return run
