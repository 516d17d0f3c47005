"""Edge cases of the check translations that the shipped policies' fixtures do not reach.

Each test exports a policy with the parameters in question, reads the manifests back as the API server
would run them, and compares decisions with podgate's on crafted pods; declined parameters must be
reported, never approximated.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import pytest
from conftest import pod
from hypothesis import given, settings
from hypothesis import strategies as st
from vap_helpers import agree, both

from webhook.policy.cel.library import admission_env
from webhook.policy.vap.translators import Untranslatable
from webhook.policy.vap.translators.network_labels import re2_fullmatch


def labelled(labels: Any) -> dict[str, Any]:
    obj = pod()
    if labels == "absent":
        del obj["metadata"]["labels"]
    else:
        obj["metadata"]["labels"] = labels
    return obj


def test_network_labels_values_and_patterns() -> None:
    objects = [labelled(x) for x in ("absent", None, {}, {"zone": "a"}, {"zone": "b1"}, {"zone": "web-01"},
                                     {"zone": None}, {"zone": ""}, {"team": "x", "zone": "web-"})]  # fmt: skip
    agree("    - check: network-labels\n      params: {labels: [{key: zone, values: [a, b1]}]}\n", objects)
    agree(
        "    - check: network-labels\n      params: {labels: [{key: zone, pattern: '^[a-z]+-[0-9]{2}$'}]}\n",
        objects,
    )
    agree(
        "    - check: network-labels\n      params: {labels: [{key: zone}, {key: team, pattern: 'x|y'}]}\n",
        objects,
    )


def test_network_labels_declines_patterns_whose_dialects_differ() -> None:
    _, native, left_out = both(
        "    - check: network-labels\n      params: {labels: [{key: zone, pattern: '\\d+'}]}\n"
    )
    assert native is None
    assert any(x.startswith("p/network-labels: pattern '\\\\d+' has an escape") for x in left_out), left_out


PATTERN_ALPHABET = "ab-.[]^$()?*+{}|,1\\:"
TEXT_ALPHABET = "ab-.1\n:{}"


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=PATTERN_ALPHABET, max_size=10),
    st.lists(st.text(alphabet=TEXT_ALPHABET, max_size=6), max_size=8),
)
def test_translated_patterns_match_exactly_what_python_fullmatch_matches(
    pattern: str, values: list[str]
) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # `[[`: Python warns of future nested sets
            compiled = re.compile(pattern)
    except re.error:
        return
    try:
        translated = re2_fullmatch(pattern)
    except Untranslatable:
        return
    program = admission_env().compile(f"object.matches({json.dumps(translated)})")
    for value in values:
        assert program.eval(data={"object": value}).plain_value() == bool(compiled.fullmatch(value)), (
            pattern,
            translated,
            value,
        )


@pytest.mark.parametrize("pattern", ["[a-z]+", "a(b|c)*d", "x{2,3}", "(?:ab)+?", "^team-[0-9]$", "a\\.b"])
def test_common_patterns_are_translated(pattern: str) -> None:
    assert re2_fullmatch(pattern).startswith("^(?:")


def container_pod(security: Any = "absent", ports: Any = "absent", **spec: Any) -> dict[str, Any]:
    obj = pod(**spec)
    if security != "absent":
        obj["spec"]["containers"][0]["securityContext"] = security
    if ports != "absent":
        obj["spec"]["containers"][0]["ports"] = ports
    return obj


CAPABILITIES = ["NET_BIND_SERVICE", "net_bind_service", "CAP_NET_BIND_SERVICE", "cap_net_bind_service",
                "CAP_CAP_X", "cap_x", "SYS_ADMIN", "net_b\u0131nd_serv\u0131ce", "\u017fys_admin", "caﬆ_x", "ßYS", "", "CAP_"]  # fmt: skip


def test_python_upper_table_is_complete() -> None:
    from webhook.policy.vap.translators.no_privileged import UPPER_TO_ASCII

    computed = {
        chr(c): chr(c).upper()
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c < 0xE000 and chr(c).upper().isascii()
    }
    assert computed == UPPER_TO_ASCII


@pytest.mark.parametrize(
    "params",
    [
        "{allowedCapabilities: [NET_BIND_SERVICE, CAP_CAP_X, SYS]}",
        "{privilegeEscalation: RequireFalse, allowHostNetwork: true, allowedHostPorts: [80, 443]}",
        "{allowHostPID: true, allowHostIPC: true}",
    ],
)
def test_no_privileged_edge_cases(params: str) -> None:
    objects = [container_pod({"capabilities": {"add": [cap]}}) for cap in CAPABILITIES]
    objects += [container_pod({"capabilities": value}) for value in (None, {}, {"add": None}, {"add": []})]
    objects += [container_pod({"allowPrivilegeEscalation": v}) for v in (True, False, None)]
    objects += [container_pod({"procMount": v}) for v in ("Default", "Unmasked", None)]
    objects += [
        container_pod({"windowsOptions": v}) for v in (None, {"hostProcess": True}, {"hostProcess": None})
    ]
    objects += [container_pod(ports=[{"containerPort": 80, "hostPort": v}]) for v in (0, 80, 8080, None)]
    objects += [container_pod(ports=v) for v in (None, [])]
    objects += [
        container_pod(**{f: v}) for f in ("hostNetwork", "hostPID", "hostIPC") for v in (True, False, None)
    ]
    objects += [container_pod(securityContext={"windowsOptions": {"hostProcess": v}}) for v in (True, False)]
    objects += [container_pod(volumes=[{"name": "h", "hostPath": v}]) for v in (None, {"path": "/var/log"})]
    objects += [container_pod(volumes=v) for v in (None, [], [{"name": "e", "emptyDir": {}}])]
    agree(f"    - check: no-privileged\n      params: {params}\n", objects)


def test_no_privileged_declines_host_path_prefixes() -> None:
    _, native, left_out = both(
        "    - check: no-privileged\n      params: {allowedHostPaths: [{pathPrefix: /var/log}]}\n"
    )
    assert native is None
    assert any(x.startswith("p/no-privileged: allowedHostPaths:") for x in left_out), left_out


PSS_OBJECTS = [
    container_pod({"procMount": v}, hostUsers=u)
    for v in ("Default", "Unmasked", None)
    for u in (True, False, None)
]
PSS_OBJECTS += [container_pod({"allowPrivilegeEscalation": v}, os=o)
                for v in (True, False, None) for o in (None, {"name": "windows"}, {"name": "linux"}, {})]  # fmt: skip
PSS_OBJECTS += [container_pod(ports=[{"containerPort": 80, "hostPort": v}]) for v in (0, 80, None)]
PSS_OBJECTS += [container_pod(ports=v) for v in (None, [])]
PSS_OBJECTS += [
    container_pod({"windowsOptions": v}) for v in (None, {}, {"hostProcess": True}, {"hostProcess": False})
]
PSS_OBJECTS += [container_pod(securityContext={"windowsOptions": v}) for v in (None, {"hostProcess": True})]
PSS_OBJECTS += [container_pod(volumes=v) for v in (None, [], [{"name": "h", "hostPath": None}],
                                                  [{"name": "h", "hostPath": {"path": "/"}}])]  # fmt: skip

PSS_OBJECTS += [container_pod({"runAsUser": u, "runAsNonRoot": n}, hostUsers=h, securityContext=p)
                for u in (0, 1000, None) for n in (True, False, None) for h in (False, None)
                for p in (None, {"runAsNonRoot": True}, {"runAsNonRoot": False, "runAsUser": 0})]  # fmt: skip
PSS_OBJECTS += [container_pod(volumes=[{"name": "v", **source}]) for source in
                ({"emptyDir": {}}, {"emptyDir": None}, {"emptyDir": None, "secret": {"secretName": "s"}},
                 {"nfs": {"server": "n"}}, {}, {"gitRepo": {}, "configMap": {"name": "c"}})]  # fmt: skip
PSS_OBJECTS += [container_pod(securityContext={"sysctls": v}) for v in
                (None, [], [{"name": "kernel.shm_rmid_forced", "value": "1"}], [{"name": "kernel.msgmax"}],
                 [{"name": None}], [{"value": "1"}])]  # fmt: skip

SECCOMP = (
    None,
    {},
    {"type": None},
    {"type": "RuntimeDefault"},
    {"type": "Localhost"},
    {"type": "Unconfined"},
)
PSS_OBJECTS += [container_pod({"seccompProfile": own}, securityContext={"seccompProfile": p}, os=o)
                for own in SECCOMP for p in SECCOMP for o in (None, {"name": "windows"})]  # fmt: skip
PSS_OBJECTS += [container_pod({"seccompProfile": own}) for own in SECCOMP]
PSS_OBJECTS += [container_pod({"capabilities": v}, os=o) for o in (None, {"name": "windows"}) for v in
                (None, {}, {"add": None, "drop": None}, {"drop": ["ALL"]}, {"drop": ["all"]}, {"drop": []},
                 {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, {"drop": ["ALL"], "add": ["CHOWN"]},
                 {"drop": ["NET_RAW", "ALL"], "add": []}, {"add": ["SYS_ADMIN"]}, {"add": ["chown"]})]  # fmt: skip

PSS_OBJECTS += [container_pod(**{"readinessProbe" if i % 2 else "livenessProbe": p, "lifecycle": h})
                for i, (p, h) in enumerate([(None, None), ({}, {}), ({"httpGet": {"port": 80, "host": ""}}, None),
                                            ({"httpGet": {"port": 80, "host": "10.0.0.1"}}, None),
                                            ({"tcpSocket": None}, {"preStop": {"tcpSocket": {"host": "x"}}}),
                                            (None, {"postStart": {"httpGet": {"host": None}}}),
                                            (None, {"postStart": None, "preStop": {"httpGet": {"host": "h"}}})])]  # fmt: skip
for _obj in PSS_OBJECTS[-7:]:  # probes sit on containers, not the pod spec
    _c = _obj["spec"]["containers"][0]
    _c.update(
        {
            k: _obj["spec"].pop(k)
            for k in ("readinessProbe", "livenessProbe", "lifecycle")
            if k in _obj["spec"]
        }
    )
APPARMOR = (
    None,
    {},
    {"type": None},
    {"type": "RuntimeDefault"},
    {"type": "Localhost"},
    {"type": "Unconfined"},
)
PSS_OBJECTS += [container_pod({"appArmorProfile": own}, securityContext={"appArmorProfile": p})
                for own in APPARMOR for p in APPARMOR[::2]]  # fmt: skip
PSS_OBJECTS += [labelled("absent") | {"metadata": {"name": "a", "annotations": a}} for a in
                (None, {},
                 *({"container.apparmor.security.beta.kubernetes.io/app": v, "other": "unconfined"}
                   for v in ("", "runtime/default", "localhost/p", "unconfined", "localhost")))]  # fmt: skip
SELINUX = (None, {}, {"type": ""}, {"type": "container_t"}, {"type": "spc_t"}, {"user": "u"}, {"role": ""},
           {"role": "r", "type": "container_init_t"}, {"user": None, "role": None, "type": None})  # fmt: skip
PSS_OBJECTS += [container_pod({"seLinuxOptions": own}, securityContext={"seLinuxOptions": p})
                for own in SELINUX for p in SELINUX[::3]]  # fmt: skip


@pytest.mark.parametrize(
    "check",
    [
        "pss-host-process",
        "pss-host-ports",
        "pss-host-path-volumes",
        "pss-proc-mount-baseline",
        "pss-proc-mount-restricted",
        "pss-privilege-escalation",
        "pss-run-as-user",
        "pss-run-as-non-root",
        "pss-volume-types",
        "pss-sysctls",
        "pss-seccomp-baseline",
        "pss-seccomp-restricted",
        "pss-capabilities-baseline",
        "pss-capabilities-restricted",
        "pss-host-probes",
        "pss-apparmor",
        "pss-selinux",
    ],
)
def test_pss_translations_agree_on_edge_cases(check: str) -> None:
    agree(f"    - check: {check}\n", PSS_OBJECTS)
