"""One podgate rule next to its VAP export, judged on the same objects: the translators' tests."""

from __future__ import annotations

import functools
import json
from typing import Any

import yaml

from webhook.policy import PolicySet, Request, evaluate, load_policy_text
from webhook.policy.document import PolicyDocument
from webhook.policy.vap.exporter import export_documents

POLICY = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  description: d
  remediation: r
"""
HEADER = POLICY + "  rules:\n"  # a rule's text follows, as a list item


@functools.lru_cache(maxsize=64)  # the generated-pod tests judge many objects with each rule
def both(rule: str) -> tuple[PolicySet, PolicySet | None, list[str]]:
    """podgate's policy with this one rule, its export read back (None if nothing), what was left out."""
    text = HEADER + rule
    result = export_documents([PolicyDocument.model_validate(yaml.safe_load(text))])
    native = (
        load_policy_text(yaml.safe_dump_all(result.documents), "exported.yaml") if result.documents else None
    )
    return load_policy_text(text, "p.yaml"), native, result.left_out


def decide(policies: PolicySet, obj: dict[str, Any]) -> tuple[bool, int]:
    """Allowed, and how many notes (errors ignored by failurePolicy) the decision carries."""
    request = Request(
        object=obj, namespace="default", namespace_labels={"kubernetes.io/metadata.name": "default"}
    )
    decision = evaluate(policies, request)
    return decision.allowed, len(decision.notes)


def agree(rule: str, objects: list[dict[str, Any]]) -> None:
    """The export is whole (UPDATE-only parts aside) and decides every object as podgate does."""
    ours, native, left_out = both(rule)
    assert native is not None and not [x for x in left_out if "UPDATE" not in x], left_out
    for obj in objects:
        assert decide(native, obj) == decide(ours, obj), json.dumps(obj)[:2000]
