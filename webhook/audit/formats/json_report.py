"""`-o json`: the whole result, with its evidence and an integrity block (digest, optional signature)."""

from __future__ import annotations

from typing import Any

from ... import __version__
from ..run import SEVERITY, AuditResult
from .context import ReportContext


def document(context: ReportContext) -> dict[str, Any]:
    result = context.result
    report: dict[str, Any] = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "AuditReport",
        "evidence": {"tool": {"name": "podgate", "version": __version__}, **context.evidence},
        "summary": summary(result),
        "results": [r.as_dict() for r in sorted(result.results, key=lambda r: (r.namespace, r.ref))],
        "notes": list(result.notes),
    }
    if result.compare:
        report["compare"] = {
            "newlyFailing": sorted(r.ref for r in result.newly_failing()),
            "newlyPassing": sorted(r.ref for r in result.newly_passing()),
            "stillFailing": sorted(r.ref for r in result.still_failing()),
        }
    return report


def summary(result: AuditResult) -> dict[str, Any]:
    tally = result.tally
    policies: dict[str, dict[str, Any]] = {}
    for (policy, namespace), matched in sorted(tally.matched.items()):
        entry = policies.setdefault(policy, {"policy": policy, "matched": 0, "failed": 0, "errors": 0})
        failed = tally.failed[policy, namespace]
        errors = tally.errors[policy, namespace]
        entry["matched"] += matched
        entry["failed"] += failed
        entry["errors"] += errors
        entry.setdefault("namespaces", []).append(
            {"namespace": namespace, "matched": matched, "failed": failed, "errors": errors}
        )
    by_action = {
        action: sum(1 for r in result.failing if r.worst == level) for action, level in SEVERITY.items()
    }
    return {
        "objectsRead": result.objects_read,
        "objectsJudged": result.objects_judged,
        "ownedObjectsFolded": result.objects_folded,
        "failingObjects": len(result.failing),
        "failingObjectsByStrongestAction": by_action,
        "policies": list(policies.values()),
        "skippedKinds": dict(sorted(result.skipped_kinds.items())),
        "durationSeconds": round(result.finished - result.started, 3),
    }


def render(context: ReportContext) -> str:
    import orjson

    from ..evidence import seal

    sealed = seal(document(context), context.extra.get("signing_key"))
    return orjson.dumps(sealed, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
