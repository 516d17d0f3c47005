"""no-privileged in CEL (checks/no_privileged.py): privileged, privilege escalation, added
capabilities, host namespaces, host ports, hostPath volumes, Windows host processes and procMount.

Declined: `allowedHostPaths` (the check resolves `.` and `..` in host paths before comparing prefixes,
which CEL's string functions cannot do exactly) and allowed capabilities with non-ASCII letters.

Capabilities are compared as the check does, by Python's `str.upper()` with an optional `CAP_` prefix.
CEL has only `upperAscii()`; the few non-ASCII characters that Python upper-cases into ASCII (`ß` -> `SS`,
dotless i (U+0131) -> `I`, ligatures, ...) are replaced first, so the results agree whenever one is ASCII,
which an allowed name is.
"""

from __future__ import annotations

import json

from ...checks._pss import HOST_PORT_FIX
from ...checks.no_privileged import Params, capability_key
from . import Translation, Untranslatable, translator
from ._cel import ALL_CONTAINERS, NO_HOST_PATH_VOLUMES, POD, every_item, field_is, present

# Every non-ASCII character whose str.upper() is ASCII (tests/test_vap_translators.py recomputes it).
UPPER_TO_ASCII = {
    "\u00df": "SS",
    "\u0131": "I",
    "\u017f": "S",
    "\ufb00": "FF",
    "\ufb01": "FI",
    "\ufb02": "FL",
    "\ufb03": "FFI",
    "\ufb04": "FFL",
    "\ufb05": "ST",
    "\ufb06": "ST",
}
NAMESPACES = (
    ("hostNetwork", "allow_host_network", "network"),
    ("hostPID", "allow_host_pid", "PID"),
    ("hostIPC", "allow_host_ipc", "IPC"),
)


def python_upper(text: str) -> str:
    """CEL for Python's `text.upper()`, exact whenever either result is ASCII."""
    for char, upper in UPPER_TO_ASCII.items():
        text = f"{text}.replace({json.dumps(char)}, {json.dumps(upper)})"
    return f"{text}.upperAscii()"


@translator("no-privileged")
def translate(params: Params) -> Translation:
    if params.allowed_host_paths:
        raise Untranslatable(
            "allowedHostPaths: the check resolves '.' and '..' in host paths, which CEL cannot do exactly"
        )
    keys = sorted({capability_key(c) for c in params.allowed_capabilities})
    if not all(k.isascii() for k in keys):
        raise Untranslatable("allowedCapabilities with non-ASCII letters: CEL upper-cases ASCII only")
    spelled = sorted(set(keys) | {f"CAP_{k}" for k in keys})
    validations = [
        {
            "expression": f"!{field_is(f'{POD}.{field}', 'true')}",
            "message": f"the pod must not use the node's {noun} namespace: set {field} to false or remove it",
        }
        for field, allowed, noun in NAMESPACES
        if not getattr(params, allowed)
    ]
    sc = "c.securityContext"
    escalation = f"{sc}.allowPrivilegeEscalation"
    host_process = "securityContext.windowsOptions.hostProcess"
    capability_allowed = (
        f"x in {json.dumps(spelled)} || cel.bind(u, {python_upper('x')},"
        f" (u.startsWith('CAP_') ? u.substring(4) : u) in {json.dumps(keys)})"
    )
    ports = sorted(set(params.allowed_host_ports))
    host_port_allowed = (
        f"!({present('p.hostPort')} && p.hostPort != 0 && !(p.hostPort in {json.dumps(ports)}))"
    )
    validations += [
        {
            "expression": f"!{field_is(f'{POD}.{host_process}', 'true')}",
            "message": "the pod must not run as a Windows host process:"
            f" set {host_process} to false or remove it",
        },
        {
            "expression": NO_HOST_PATH_VOLUMES,
            "message": "volumes must not mount host paths: use an emptyDir, configMap, secret or"
            " persistent volume instead of hostPath",
        },
        {
            "expression": f"variables.allContainers.all(c, !{field_is(f'{sc}.privileged', 'true')})",
            "message": "containers must not run privileged: set securityContext.privileged to false",
        },
        {
            "expression": "variables.allContainers.all(c, "
            + (
                f"{field_is(escalation, 'false')})"
                if params.privilege_escalation == "RequireFalse"
                else f"!{field_is(escalation, 'true')})"
            ),
            "message": "containers must not allow privilege escalation:"
            " set securityContext.allowPrivilegeEscalation to false",
        },
        {
            "expression": "variables.allContainers.all(c, "
            f"{every_item(f'{sc}.capabilities.add', 'x', capability_allowed)})",
            "message": "containers must not add capabilities"
            + (f" other than {', '.join(keys)}" if keys else "")
            + ": remove them from securityContext.capabilities.add",
        },
        {
            "expression": f"variables.allContainers.all(c, !{field_is(f'c.{host_process}', 'true')})",
            "message": "containers must not run as Windows host processes:"
            f" set {host_process} to false or remove it",
        },
        {
            "expression": "variables.allContainers.all(c, "
            f"!({present(f'{sc}.procMount')} && {sc}.procMount != 'Default'))",
            "message": "containers must not unmask /proc:"
            " set securityContext.procMount to Default or remove it",
        },
        {
            "expression": f"variables.allContainers.all(c, {every_item('c.ports', 'p', host_port_allowed)})",
            "message": "containers must not bind host ports"
            + (f" other than {', '.join(map(str, ports))}" if ports else "")
            + f": {HOST_PORT_FIX}",
        },
    ]
    return Translation(variables=[ALL_CONTAINERS], validations=validations)
