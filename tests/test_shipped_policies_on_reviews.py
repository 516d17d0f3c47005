"""The four check policies together on the real AdmissionReview samples in ../shared: what the mutating
webhook patches (applied with pyjsonpatch, idempotent) and what the validating webhook then decides."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pyjsonpatch
import pytest
from conftest import POLICIES, shared_review

from webhook.inputs import review_request
from webhook.policy import evaluate, load_policies, mutate
from webhook.policy.engine import Request

LIBRARY = load_policies(*(POLICIES / f"{name}.yaml" for name in
                          ("no-privileged", "trusted-registries", "resource-limits", "network-labels")))  # fmt: skip
ZONE = "/metadata/labels/network.podgate.io~1zone"


def mutated(request: Request) -> tuple[list[dict[str, Any]], Any]:
    result = mutate(LIBRARY, request)
    applied = pyjsonpatch.apply_patch(copy.deepcopy(request.object), result.patch, mutate=False).obj
    assert applied == result.object
    assert mutate(LIBRARY, dataclasses.replace(request, object=applied)).patch == []
    return result.patch, applied


def test_kubectl_run_gets_every_default_and_then_passes() -> None:
    request = review_request(shared_review("pod-create-kubectl-run.json"))
    before = evaluate(LIBRARY, request)
    # nginx:1.27 is docker.io/library/nginx:1.27, a trusted official image; the zone label and the
    # resources are missing, and allowPrivilegeEscalation is unset (allowed: only `true` is refused).
    assert {v.policy for v in before.violations} == {"network-labels", "resource-limits"}
    assert not before.allowed
    patch, applied = mutated(request)
    assert {op["path"] for op in patch} == {
        ZONE,
        "/spec/containers/0/securityContext",
        "/spec/containers/0/resources/requests",
        "/spec/containers/0/resources/limits",
    }
    after = evaluate(LIBRARY, Request(object=applied, namespace="default"))
    assert after.allowed and after.violations == ()


def test_kubectl_debug_patches_only_the_new_ephemeral_container() -> None:
    patch, _ = mutated(review_request(shared_review("pod-update-ephemeralcontainers-kubectl-debug.json")))
    assert patch == [
        {
            "op": "add",
            "path": "/spec/ephemeralContainers/0/securityContext",
            "value": {"allowPrivilegeEscalation": False},
        }
    ]


def test_deployment_update_gets_the_zone_label_on_its_template() -> None:
    patch, _ = mutated(review_request(shared_review("deployment-update-image.json")))
    assert patch == [{"op": "add", "path": "/spec/template" + ZONE, "value": "internal"}]


@pytest.mark.parametrize("name", ["pod-delete.json", "configmap-create-not-a-pod.json"])
def test_nothing_to_patch(name: str) -> None:
    assert mutate(LIBRARY, review_request(shared_review(name))).patch == []
