"""Mutators registered for tests only (no mutator ships on this branch yet): they exercise the patch path.

`test-owner-label` adds a label whose key needs JSON Pointer escaping (`~` and `/`); `test-non-root`
sets the pod's runAsNonRoot when it is absent, so the mutated pod passes no-root.
"""

from __future__ import annotations

from webhook.policy.podspec import PodView, ensure_mapping
from webhook.policy.registry import MUTATORS, CheckParams, Mutator, mutator

OWNER_LABEL = "example.com/owner~team"


class OwnerParams(CheckParams):
    owner: str = "platform"


class NoParams(CheckParams):
    pass


def _owner_label(params: OwnerParams) -> Mutator:
    def apply(pod: PodView) -> None:
        labels = ensure_mapping(ensure_mapping(pod.node, "metadata"), "labels")
        labels.setdefault(OWNER_LABEL, params.owner)

    return Mutator(apply=apply, targets=frozenset({f"metadata.labels.{OWNER_LABEL}"}))


def _non_root(params: NoParams) -> Mutator:
    def apply(pod: PodView) -> None:
        context = ensure_mapping(pod.node["spec"], "securityContext")
        context.setdefault("runAsNonRoot", True)

    return Mutator(apply=apply, targets=frozenset({"spec.securityContext.runAsNonRoot"}))


if "test-owner-label" not in MUTATORS:
    mutator("test-owner-label", params=OwnerParams, summary="tests: add an owner label")(_owner_label)
    mutator("test-non-root", params=NoParams, summary="tests: default runAsNonRoot")(_non_root)

MUTATING_POLICY = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: no-root}
spec:
  description: Containers must not run as root.
  remediation: Set runAsNonRoot to true.
  actions: [Deny]
  rules: [{check: no-root}]
  mutations:
    - mutator: test-owner-label
    - mutator: test-non-root
"""
