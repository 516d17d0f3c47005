"""Test-only checks and a mutator, registered in the server process before it loads policies.

The shipped library has no mutator and only one check; these let the server tests exercise Warn and
Audit actions, namespace selectors, the deadline and JSON Patch answers without touching the engine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from webhook.policy.podspec import PodView, ensure_mapping
from webhook.policy.registry import CheckFn, CheckParams, Mutator, check, mutator
from webhook.policy.result import Finding
from webhook_support import SLOW_STARTED_FILE

SLOW_LABEL = "podgate-test/slow"


class NoParams(CheckParams):
    pass


@check("test-latest-tag", params=NoParams, summary="images must carry a tag other than latest")
def latest_tag(params: NoParams) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        for c in pod.containers:
            image = c.image
            if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
                yield Finding(
                    f"{c.path}.image", image, f"{c.label} uses a floating tag", "pin a version", image
                )

    return run


@check("test-slow", params=NoParams, summary="sleeps on pods labelled podgate-test/slow (deadline tests)")
def slow(params: NoParams) -> CheckFn:
    def run(pod: PodView) -> Iterator[Finding]:
        if SLOW_LABEL in pod.labels:
            if started := os.environ.get(SLOW_STARTED_FILE):
                Path(started).touch()
            time.sleep(float(pod.labels[SLOW_LABEL]))
        return iter(())

    return run


@mutator("test-managed-by", params=NoParams, summary="labels the pod app.kubernetes.io/managed-by=podgate")
def managed_by(params: NoParams) -> Mutator:
    def apply(pod: PodView) -> None:
        labels = ensure_mapping(ensure_mapping(pod.node, "metadata"), "labels")
        labels.setdefault("app.kubernetes.io/managed-by", "podgate")
        ensure_mapping(pod.spec, "securityContext").setdefault("runAsNonRoot", True)

    return Mutator(apply=apply, targets=frozenset({"metadata.labels", "spec.securityContext.runAsNonRoot"}))
