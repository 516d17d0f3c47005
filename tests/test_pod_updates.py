"""Which Pod updates Pod Security Admission judges (`podSecurityUpdates: true`): table-driven."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import pod
from webhook.policy.pod_updates import significant_pod_update
from webhook.policy.podspec import pod_view

Edit = Callable[[dict[str, Any]], None]


def old_pod() -> dict[str, Any]:
    obj = pod(
        initContainers=[{"name": "init", "image": "busybox:1.36"}],
        ephemeralContainers=[{"name": "debugger", "image": "busybox:1.36"}],
    )
    obj["metadata"]["annotations"] = {"container.seccomp.security.alpha.kubernetes.io/app": "runtime/default"}
    return obj


CASES: list[tuple[str, Edit, bool]] = [
    ("nothing", lambda o: None, False),
    ("labels", lambda o: o["metadata"]["labels"].update(version="2"), False),
    ("other annotation", lambda o: o["metadata"]["annotations"].update(note="x"), False),
    ("tolerations", lambda o: o["spec"].update(tolerations=[{"key": "k", "operator": "Exists"}]), False),
    ("pod seccomp annotation", lambda o: o["metadata"]["annotations"].update(
        {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), False),  # no longer read
    ("seccomp annotation of another name", lambda o: o["metadata"]["annotations"].update(
        {"container.seccomp.security.alpha.kubernetes.io/ghost": "unconfined"}), False),
    ("container seccomp annotation", lambda o: o["metadata"]["annotations"].update(
        {"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}), True),
    ("ephemeral container seccomp annotation", lambda o: o["metadata"]["annotations"].update(
        {"container.seccomp.security.alpha.kubernetes.io/debugger": "unconfined"}), True),
    ("container image", lambda o: o["spec"]["containers"][0].update(image="nginx:1.27"), True),
    ("init container image", lambda o: o["spec"]["initContainers"][0].update(image="busybox:1.37"), True),
    ("ephemeral container image", lambda o: o["spec"]["ephemeralContainers"][0].update(image="alpine:3"), True),
    ("container added", lambda o: o["spec"]["containers"].append({"name": "side", "image": "envoy"}), True),
    ("init container removed", lambda o: o["spec"].pop("initContainers"), True),
    ("ephemeral container added", lambda o: o["spec"]["ephemeralContainers"].append({"name": "d2", "image": "x"}), True),
    ("ephemeral container renamed", lambda o: o["spec"]["ephemeralContainers"][0].update(name="other"), True),
    ("ephemeral container removed", lambda o: o["spec"].pop("ephemeralContainers"), False),  # only additions count
    # The API server refuses security context changes on a pod, so PSA does not look for them.
    ("securityContext alone", lambda o: o["spec"]["containers"][0].update(securityContext={"privileged": True}), False),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "significant"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_significant_pod_update(edit: Edit, significant: bool) -> None:
    old = old_pod()
    new = copy.deepcopy(old)
    edit(new)
    new_view, old_view = pod_view(new), pod_view(old)
    assert new_view is not None and old_view is not None
    assert significant_pod_update(new_view, old_view) is significant
