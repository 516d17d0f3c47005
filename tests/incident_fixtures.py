"""The incident-response fixtures: CONNECT, eviction and hold reviews shaped as the API server sends them."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

from conftest import POLICIES, shared_review

from webhook.inputs import review_request
from webhook.policy import Request, load_policies

INCIDENT = Path(__file__).resolve().parent / "fixtures" / "incident"
HOLD = {"podgate.io/hold": "true"}
SIGNATURE = {
    "podgate.io/hold-reason": "INC-4711: crypto-miner beaconing to 203.0.113.9",
    "podgate.io/held-by": "rhea@example.com",
    "podgate.io/held-at": "2026-12-02T03:12:00Z",
}
RESPONDER = {"username": "rhea@example.com", "groups": ["incident-response", "system:authenticated"]}


def incident_review(name: str) -> dict[str, Any]:
    with open(INCIDENT / name, encoding="utf-8") as f:
        return dict(json.load(f))


def with_user(review: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    review = copy.deepcopy(review)
    review["request"]["userInfo"] = user
    return review


def held_metadata(name: str = "web", namespace: str = "shop") -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {"app": name, **HOLD},
        "annotations": dict(SIGNATURE),
    }


def request_of(review: dict[str, Any], target: dict[str, Any] | None = None) -> Request:
    """The engine request, with what the held-pod cache knows about the named pod (None: unknown)."""
    return dataclasses.replace(review_request(review), target_metadata=target)


def held_delete(user: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shared DELETE sample, with its pod (in oldObject) under hold."""
    review = shared_review("pod-delete.json")
    metadata = review["request"]["oldObject"]["metadata"]
    metadata["labels"].update(HOLD)
    metadata["annotations"] = dict(SIGNATURE)
    return with_user(review, user) if user else review


def shipped(*names: str) -> Any:
    return load_policies(*(POLICIES / f"{n}.yaml" for n in names))
