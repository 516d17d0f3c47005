"""no-privileged, table-driven: every restricted field, in every kind, on every container type."""

from __future__ import annotations

from typing import Any

import pytest
from check_helpers import KINDS, found, judge, policy_text, wrap

from webhook.policy import PolicyLoadError, load_policy_text
from webhook.policy.checks.no_privileged import capability_key, normalize_host_path, under

IMG = "registry.example.com/acme/app:1.0"


def c(name: str = "app", **sc: Any) -> dict[str, Any]:
    return {"name": name, "image": IMG, "securityContext": sc} if sc else {"name": name, "image": IMG}


# (case id, params, pod spec, expected [(path below the pod, value)])
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, Any]]]] = [
    ("plain", {}, {"containers": [c()]}, []),
    (
        "explicit-safe-values",
        {},
        {
            "hostNetwork": False,
            "hostPID": None,
            "containers": [
                c(
                    privileged=False,
                    allowPrivilegeEscalation=False,
                    procMount="Default",
                    capabilities={"drop": ["ALL"]},
                )
            ],
        },
        [],
    ),
    (
        "null-security-context",
        {},
        {"securityContext": None, "containers": [{"name": "app", "image": IMG, "securityContext": None}]},
        [],
    ),
    (
        "privileged-container",
        {},
        {"containers": [c(privileged=True)]},
        [("spec.containers[0].securityContext.privileged", True)],
    ),
    (
        "privileged-init-container",
        {},
        {"initContainers": [c("init", privileged=True)], "containers": [c()]},
        [("spec.initContainers[0].securityContext.privileged", True)],
    ),
    (
        "privileged-ephemeral-container",
        {},
        {"containers": [c()], "ephemeralContainers": [c("debug", privileged=True)]},
        [("spec.ephemeralContainers[0].securityContext.privileged", True)],
    ),
    (
        "escalation-true",
        {},
        {"containers": [c(allowPrivilegeEscalation=True)]},
        [("spec.containers[0].securityContext.allowPrivilegeEscalation", True)],
    ),
    ("escalation-unset-is-fine-by-default", {}, {"containers": [c()]}, []),
    (
        "escalation-unset-with-require-false",
        {"privilegeEscalation": "RequireFalse"},
        {"containers": [c(), c("b", allowPrivilegeEscalation=False)]},
        [("spec.containers[0].securityContext.allowPrivilegeEscalation", None)],
    ),
    (
        "capability-outside-allow-list",
        {"allowedCapabilities": ["NET_BIND_SERVICE"]},
        {"containers": [c(capabilities={"add": ["NET_BIND_SERVICE", "NET_ADMIN"]})]},
        [("spec.containers[0].securityContext.capabilities.add[1]", "NET_ADMIN")],
    ),
    (
        "capability-compare-ignores-case-and-cap-prefix",
        {"allowedCapabilities": ["cap_net_bind_service", "Chown"]},
        {
            "containers": [
                c(capabilities={"add": ["net_bind_service", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "chown"]})
            ]
        },
        [],
    ),
    (
        "capability-all-is-not-every-allowed-one",
        {"allowedCapabilities": ["NET_BIND_SERVICE"]},
        {"containers": [c(capabilities={"add": ["ALL"]})]},
        [("spec.containers[0].securityContext.capabilities.add[0]", "ALL")],
    ),
    (
        "no-capability-allowed-by-default",
        {},
        {"initContainers": [c("i", capabilities={"add": ["CHOWN"]})], "containers": [c()]},
        [("spec.initContainers[0].securityContext.capabilities.add[0]", "CHOWN")],
    ),
    (
        "host-namespaces",
        {},
        {"hostNetwork": True, "hostPID": True, "hostIPC": True, "containers": [c()]},
        [("spec.hostNetwork", True), ("spec.hostPID", True), ("spec.hostIPC", True)],
    ),
    (
        "host-namespaces-allowed-one-by-one",
        {"allowHostNetwork": True, "allowHostPID": True},
        {"hostNetwork": True, "hostPID": True, "hostIPC": True, "containers": [c()]},
        [("spec.hostIPC", True)],
    ),
    (
        "host-port",
        {},
        {
            "containers": [
                {
                    "name": "app",
                    "image": IMG,
                    "ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}],
                }
            ]
        },
        [("spec.containers[0].ports[1].hostPort", 443)],
    ),
    (
        "host-port-zero-means-none",
        {},
        {"containers": [{"name": "app", "image": IMG, "ports": [{"containerPort": 80, "hostPort": 0}]}]},
        [],
    ),
    (
        "host-port-allowed",
        {"allowedHostPorts": [8443]},
        {
            "initContainers": [
                {"name": "i", "image": IMG, "ports": [{"containerPort": 1, "hostPort": 8443}]}
            ],
            "containers": [{"name": "app", "image": IMG, "ports": [{"containerPort": 2, "hostPort": 8444}]}],
        },
        [("spec.containers[0].ports[0].hostPort", 8444)],
    ),
    (
        "host-path",
        {},
        {
            "volumes": [{"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/etc"}}],
            "containers": [c()],
        },
        [("spec.volumes[1].hostPath", "/etc")],
    ),
    (
        "host-path-under-allowed-prefix",
        {"allowedHostPaths": [{"pathPrefix": "/var/log/"}]},
        {
            "volumes": [
                {"name": "a", "hostPath": {"path": "/var/log/pods"}},
                {"name": "b", "hostPath": {"path": "/var/log"}},
                {"name": "c", "hostPath": {"path": "/var/logs"}},
                {"name": "d", "hostPath": {"path": "/var/log/../../etc"}},
            ],
            "containers": [c()],
        },
        [("spec.volumes[2].hostPath", "/var/logs"), ("spec.volumes[3].hostPath", "/var/log/../../etc")],
    ),
    (
        "host-path-read-only-entry-needs-read-only-mounts",
        {"allowedHostPaths": [{"pathPrefix": "/var/log", "readOnly": True}]},
        {
            "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
            "initContainers": [
                {
                    "name": "i",
                    "image": IMG,
                    "volumeMounts": [{"name": "logs", "mountPath": "/l", "readOnly": True}],
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": IMG,
                    "volumeMounts": [
                        {"name": "other", "mountPath": "/o"},
                        {"name": "logs", "mountPath": "/l"},
                    ],
                }
            ],
        },
        [("spec.containers[0].volumeMounts[1].readOnly", None)],
    ),
    (
        "host-path-writable-entry-wins-over-read-only-one",
        {"allowedHostPaths": [{"pathPrefix": "/var", "readOnly": True}, {"pathPrefix": "/var/cache"}]},
        {
            "volumes": [{"name": "c", "hostPath": {"path": "/var/cache/app"}}],
            "containers": [{"name": "app", "image": IMG, "volumeMounts": [{"name": "c", "mountPath": "/c"}]}],
        },
        [],
    ),
    (
        "windows-host-process",
        {},
        {
            "securityContext": {"windowsOptions": {"hostProcess": True}},
            "containers": [
                c(windowsOptions={"hostProcess": True}),
                c("b", windowsOptions={"hostProcess": False}),
            ],
        },
        [
            ("spec.securityContext.windowsOptions.hostProcess", True),
            ("spec.containers[0].securityContext.windowsOptions.hostProcess", True),
        ],
    ),
    (
        "proc-mount-unmasked",
        {},
        {"containers": [c(procMount="Unmasked"), c("b", procMount="Default")]},
        [("spec.containers[0].securityContext.procMount", "Unmasked")],
    ),
    (
        "proc-mount-unknown-value",
        {},
        {"ephemeralContainers": [c("d", procMount="Weird")], "containers": [c()]},
        [("spec.ephemeralContainers[0].securityContext.procMount", "Weird")],
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("params", "spec", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_no_privileged(
    kind: str, params: dict[str, Any], spec: dict[str, Any], expected: list[tuple[str, Any]]
) -> None:
    decision = judge("no-privileged", params, wrap(kind, spec))
    assert found(decision, KINDS[kind]) == expected
    assert decision.allowed is (not expected)


def test_message_names_container_and_fix() -> None:
    (v,) = judge(
        "no-privileged",
        {},
        wrap("Deployment", {"initContainers": [c("setup", privileged=True)], "containers": [c()]}),
    ).violations
    assert v.message == (
        'init container "setup" (spec.template.spec.initContainers[0]) must not run privileged: '
        "set securityContext.privileged to false [policy under-test]"
    )


def test_image_exemption_covers_container_findings_only() -> None:
    spec = {
        "hostPID": True,
        "containers": [
            c(privileged=True),
            {"name": "b", "image": "docker.io/library/busybox:1.36", "securityContext": {"privileged": True}},
        ],
    }
    decision = judge(
        "no-privileged", {}, wrap("Pod", spec), exemptions={"images": [f"{IMG.rsplit(':', 1)[0]}:*"]}
    )
    assert found(decision) == [
        ("spec.hostPID", True),
        ("spec.containers[1].securityContext.privileged", True),
    ]


def test_update_counts_only_what_it_introduces() -> None:
    old = wrap("Deployment", {"containers": [c(privileged=True)]})
    new = wrap("Deployment", {"containers": [c(privileged=True), c("b", allowPrivilegeEscalation=True)]})
    decision = judge("no-privileged", {}, new, operation="UPDATE", old_object=old)
    assert found(decision, "spec.template.") == [
        ("spec.containers[1].securityContext.allowPrivilegeEscalation", True)
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"allowedCapabilities": ["NET ADMIN"]}, "allowedCapabilities[0]"),
        ({"allowedCapabilities": ["CHOWN", ""]}, "allowedCapabilities[1]"),
        ({"allowedHostPorts": [0]}, "allowedHostPorts[0]"),
        ({"allowedHostPorts": [70000]}, "allowedHostPorts[0]"),
        ({"allowedHostPaths": [{"pathPrefix": "var/log"}]}, "allowedHostPaths[0].pathPrefix"),
        ({"privilegeEscalation": "Never"}, "privilegeEscalation"),
        ({"allowHostNetwork": "yes"}, "allowHostNetwork"),
        ({"allowHostPid": True}, "allowHostPid"),
    ],
)
def test_bad_params_fail_at_load_with_field_path(params: dict[str, Any], field: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(policy_text("no-privileged", params))
    assert f"spec.rules[0].params.{field}:" in str(caught.value)


def test_helpers() -> None:
    assert capability_key("cap_sys_admin") == capability_key("SYS_ADMIN") == "SYS_ADMIN"
    assert normalize_host_path("//var/./log/../lib/") == "/var/lib"
    assert under("/var/lib", "/var") and under("/var", "/var") and under("/x", "/")
    assert not under("/variable", "/var")
