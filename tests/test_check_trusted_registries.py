"""trusted-registries, table-driven: the reference grammar, `/` boundaries, case, ports, digests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from check_helpers import KINDS, found, judge, policy_text, wrap

from webhook.policy import PolicyLoadError, load_policy_text

DIGEST = "sha256:" + "ab" * 32
ALLOW = {"registries": ["registry.example.com", "ghcr.io/acme", "docker.io/library", "localhost:5000"]}

# (image, params, allowed?, message fragment when not)
IMAGES: list[tuple[str, dict[str, Any], bool, str]] = [
    ("registry.example.com/app:1.0", ALLOW, True, ""),
    ("registry.example.com/team/sub/app:1.0", ALLOW, True, ""),
    ("REGISTRY.example.com/team/app:1.0", ALLOW, True, ""),
    ("registry.example.com.evil.io/app:1.0", ALLOW, False, "untrusted registry"),
    ("evil.io/registry.example.com/app:1.0", ALLOW, False, "untrusted registry"),
    ("registry.example.com:5000/app:1.0", ALLOW, False, "untrusted registry"),
    ("registry.example.co/app:1.0", ALLOW, False, "untrusted registry"),
    ("ghcr.io/acme/app:1.0", ALLOW, True, ""),
    ("ghcr.io/acme/tools/app:1.0", ALLOW, True, ""),
    ("ghcr.io/acme-evil/app:1.0", ALLOW, False, "untrusted registry"),
    ("ghcr.io/acmeapp:1.0", ALLOW, False, "untrusted registry"),
    ("ghcr.io/app:1.0", ALLOW, False, "untrusted registry"),
    ("nginx:1.27", ALLOW, True, ""),  # docker.io/library/nginx
    ("library/nginx:1.27", ALLOW, True, ""),
    ("docker.io/nginx:1.27", ALLOW, True, ""),
    ("index.docker.io/library/nginx:1.27", ALLOW, True, ""),
    ("acme/nginx:1.27", ALLOW, False, "docker.io/acme/nginx"),
    ("localhost:5000/app:1", ALLOW, True, ""),
    ("localhost/app:1", ALLOW, False, "untrusted registry"),
    ("registry.example.com/App:1.0", ALLOW, False, "must be lowercase"),
    ("registry.example.com/app:1.0 ", ALLOW, False, "invalid image reference"),
    ("registry.example.com/app::1.0", ALLOW, False, "invalid image reference"),
    (f"registry.example.com/app@{DIGEST}", {**ALLOW, "requireDigest": True}, True, ""),
    (f"registry.example.com/app:1.0@{DIGEST}", {**ALLOW, "requireDigest": True}, True, ""),
    ("registry.example.com/app:1.0", {**ALLOW, "requireDigest": True}, False, "must pin image .* by digest"),
    ("registry.example.com/app", {**ALLOW, "forbidLatest": True}, False, "must not use the latest tag"),
    (
        "registry.example.com/app:latest",
        {**ALLOW, "forbidLatest": True},
        False,
        "must not use the latest tag",
    ),
    ("registry.example.com/app:Latest", {**ALLOW, "forbidLatest": True}, True, ""),  # tags are case-sensitive
    (f"registry.example.com/app:latest@{DIGEST}", {**ALLOW, "forbidLatest": True}, True, ""),
    ("registry.example.com/app", ALLOW, True, ""),  # untagged is fine unless forbidLatest
    ("docker.io/library/nginx:1.27", {"registries": ["docker.io"]}, True, ""),
    ("quay.io/x/y:1", {"registries": ["docker.io"]}, False, "untrusted registry"),
    ("registry.example.com:5000/team/app:1", {"registries": ["Registry.Example.com:5000/team/"]}, True, ""),
    (
        "registry.example.com:5000/teamx/app:1",
        {"registries": ["registry.example.com:5000/team"]},
        False,
        "untrusted",
    ),
]


@pytest.mark.parametrize(
    ("image", "params", "allowed", "message"), [pytest.param(*row, id=row[0]) for row in IMAGES]
)
def test_image_references(image: str, params: dict[str, Any], allowed: bool, message: str) -> None:
    decision = judge(
        "trusted-registries", params, wrap("Pod", {"containers": [{"name": "app", "image": image}]})
    )
    assert decision.allowed is allowed, [v.message for v in decision.violations]
    if not allowed:
        (v,) = decision.violations
        assert v.path == "spec.containers[0].image" and v.value == image
        assert re.search(message, v.message), v.message


@pytest.mark.parametrize("kind", KINDS)
def test_every_container_type_in_every_kind(kind: str) -> None:
    spec = {
        "initContainers": [{"name": "i", "image": "quay.io/x/init:1"}],
        "containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "evil.io/b:1"}],
        "ephemeralContainers": [{"name": "d", "image": "busybox"}],
    }
    decision = judge(
        "trusted-registries", {"registries": ["docker.io/library"], "forbidLatest": True}, wrap(kind, spec)
    )
    assert found(decision, KINDS[kind]) == [
        ("spec.initContainers[0].image", "quay.io/x/init:1"),
        ("spec.containers[1].image", "evil.io/b:1"),
        ("spec.ephemeralContainers[0].image", "busybox"),
    ]
    assert 'ephemeral container "d"' in decision.violations[2].message


def test_missing_image_is_a_violation() -> None:
    decision = judge(
        "trusted-registries",
        ALLOW,
        wrap("Deployment", {"containers": [{"name": "a"}, {"name": "b", "image": None}]}),
    )
    assert found(decision, "spec.template.") == [
        ("spec.containers[0].image", None),
        ("spec.containers[1].image", None),
    ]
    assert "has no image" in decision.violations[0].message


def test_image_exemption() -> None:
    spec = {
        "containers": [
            {"name": "a", "image": "quay.io/vendor/agent:2.1"},
            {"name": "b", "image": "quay.io/other/x:1"},
        ]
    }
    decision = judge(
        "trusted-registries", ALLOW, wrap("Pod", spec), exemptions={"images": ["quay.io/vendor/*"]}
    )
    assert found(decision) == [("spec.containers[1].image", "quay.io/other/x:1")]


def test_message() -> None:
    (v,) = judge(
        "trusted-registries",
        {"registries": ["ghcr.io/acme"]},
        wrap("Pod", {"containers": [{"name": "web", "image": "nginx"}]}),
    ).violations
    assert v.message == (
        "container \"web\" (spec.containers[0]) uses image 'nginx' (docker.io/library/nginx) from an untrusted "
        "registry: use an image from ghcr.io/acme [policy under-test]"
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "params.registries: required field is missing"),
        ({"registries": []}, "params.registries: List should have at least 1 item"),
        (
            {"registries": ["ghcr.io", "acme"]},
            "params.registries[1]: registry 'acme' must start with a registry host",
        ),
        ({"registries": ["ghcr.io/Acme"]}, "must be lowercase"),
        ({"registries": ["bad host.io"]}, "is not a valid registry"),
        ({"registries": ["ghcr.io"], "requireDigest": "yes"}, "params.requireDigest"),
        ({"registries": ["ghcr.io"], "forbidLatests": True}, "params.forbidLatests: unknown field"),
    ],
)
def test_bad_params_fail_at_load(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(policy_text("trusted-registries", params))
    assert problem in str(caught.value)
