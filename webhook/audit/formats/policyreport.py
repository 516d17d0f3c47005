"""`-o policyreport`: wgpolicyk8s.io/v1alpha2 PolicyReport per namespace (ClusterPolicyReport for objects
without one), as multi-document YAML for `kubectl apply -f -`.

Size-capped so a report can never flood etcd (peers have made etcd read-only with 1.6 M reports): one
report per namespace, at most `max_results_per_report` results and `max_bytes_per_report` bytes each,
strongest actions first. What is cut is still counted in `summary` and named in the annotation
`podgate.io/omitted-results`; `-o json` has everything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from typing import Any

import yaml

from ..run import SEVERITY, Finding, ObjectResult, iter_failing_by_namespace
from .context import ReportContext

API_VERSIONS = {
    "Pod": "v1",
    "PodTemplate": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
RESULTS = {"Deny": "fail", "Warn": "warn", "Audit": "fail"}
SEVERITIES = {"Deny": "high", "Warn": "medium", "Audit": "low"}
REPORT_NAME = "podgate-audit"


def reports(context: ReportContext) -> list[dict[str, Any]]:
    result = context.result
    seconds = int(result.finished)
    failing = dict(iter_failing_by_namespace(result.results))
    namespaces = sorted({ns for (_, ns) in result.tally.matched} | set(failing))
    documents = []
    for namespace in namespaces:
        found = [
            (r, f)
            for r in failing.get(namespace, [])
            for f in sorted(r.findings, key=lambda f: -SEVERITY[f.action])
        ]
        found.sort(key=lambda pair: -SEVERITY[pair[1].action])  # stable: strongest first, then in order
        summary = Counter(RESULTS[f.action] for _, f in found)
        matched = sum(n for (_, ns), n in result.tally.matched.items() if ns == namespace)
        failed = sum(n for (_, ns), n in result.tally.failed.items() if ns == namespace)
        errors = sum(n for (_, ns), n in result.tally.errors.items() if ns == namespace)
        # Only what the cap can keep is built: a namespace of 10,000 failing pods costs 500 entries.
        candidates = (_entry(r, f, seconds) for r, f in found[: context.max_results_per_report])
        kept = _cap(candidates, context.max_results_per_report, context.max_bytes_per_report)
        metadata: dict[str, Any] = {
            "name": REPORT_NAME,
            "labels": {"app.kubernetes.io/managed-by": "podgate"},
            "annotations": {
                "podgate.io/policy-set-digest": str(context.evidence.get("policySet", {}).get("digest", "")),
                "podgate.io/generated-at": str(context.evidence.get("finishedAt", "")),
            },
        }
        if namespace:
            metadata["namespace"] = namespace
        if len(kept) < len(found):
            metadata["annotations"]["podgate.io/omitted-results"] = str(len(found) - len(kept))
        documents.append(
            {
                "apiVersion": "wgpolicyk8s.io/v1alpha2",
                "kind": "PolicyReport" if namespace else "ClusterPolicyReport",
                "metadata": metadata,
                "summary": {
                    "pass": max(matched - failed - errors, 0),
                    "fail": summary["fail"],
                    "warn": summary["warn"],
                    "error": errors,
                    "skip": 0,
                },
                "results": kept,
            }
        )
    return documents


def render(context: ReportContext) -> str:
    # The C emitter (libyaml) when PyYAML has it: the same YAML, ~10x faster than the Python one.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(
        yaml.dump_all(reports(context), Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)
    )


def _entry(r: ObjectResult, f: Finding, seconds: int) -> dict[str, Any]:
    resource: dict[str, Any] = {"apiVersion": API_VERSIONS.get(r.kind, "v1"), "kind": r.kind, "name": r.name}
    if r.namespace:
        resource["namespace"] = r.namespace
    if r.uid:
        resource["uid"] = r.uid
    return {
        "source": "podgate",
        "policy": f.policy,
        "rule": f.rule,
        "category": "podgate",
        "result": RESULTS[f.action],
        "severity": SEVERITIES[f.action],
        "scored": True,
        "message": f.message,
        "timestamp": {"seconds": seconds, "nanos": 0},
        "resources": [resource],
        "properties": {"action": f.action, "path": f.path, "ownedObjectsFolded": str(r.owned)},
    }


def _cap(entries: Iterable[dict[str, Any]], max_results: int, max_bytes: int) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    size = 2048  # metadata, summary and YAML overhead
    for entry in islice(entries, max_results):
        size += len(json.dumps(entry)) + 64
        if size > max_bytes:
            break
        kept.append(entry)
    return kept
