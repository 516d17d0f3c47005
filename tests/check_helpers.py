"""Helpers for the table-driven check tests: one pod spec, wrapped in every kind that carries one."""

from __future__ import annotations

import copy
import json
from typing import Any

from webhook.policy import Decision, Request, evaluate, load_policy_text

# kind -> (path prefix of the pod, builder of the object around a pod template)
KINDS: dict[str, str] = {
    "Pod": "",
    "Deployment": "spec.template.",
    "CronJob": "spec.jobTemplate.spec.template.",
    "ReplicationController": "spec.template.",
}


def wrap(kind: str, spec: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The pod spec inside an object of `kind` (with pod labels on the pod or its template)."""
    metadata: dict[str, Any] = {"labels": dict(labels)} if labels is not None else {}
    spec = copy.deepcopy(spec)
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop", **metadata},
                "spec": spec}  # fmt: skip
    template = {"metadata": metadata, "spec": spec}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "p", "namespace": "shop"},
                "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}  # fmt: skip
    api = "v1" if kind == "ReplicationController" else "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"template": template}}  # fmt: skip


def policy_text(
    check: str,
    params: dict[str, Any],
    exemptions: dict[str, Any] | None = None,
    *,
    name: str = "under-test",
    **spec: Any,
) -> str:
    """A Deny policy running one check; JSON is YAML, so params (and other `spec` fields) are written as
    JSON."""
    text = f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: {name}}}
spec:
  description: The check under test.
  remediation: Fix it.
  rules: [{{check: {check}, params: {json.dumps(params)}}}]
"""
    if exemptions:
        text += f"  exemptions: {json.dumps(exemptions)}\n"
    text += "".join(f"  {field}: {json.dumps(value)}\n" for field, value in spec.items())
    return text


def judge(check: str, params: dict[str, Any], obj: dict[str, Any], **request: Any) -> Decision:
    return evaluate(load_policy_text(policy_text(check, params, request.pop("exemptions", None))),
                    Request(object=obj, **request))  # fmt: skip


def found(decision: Decision, prefix: str = "") -> list[tuple[str, Any]]:
    """(path without the kind's prefix, offending value) of every violation, in order."""
    out = []
    for v in decision.violations:
        assert v.path.startswith(prefix), (v.path, prefix)
        out.append((v.path[len(prefix) :], v.value))
    return out
