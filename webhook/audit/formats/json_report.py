"""`-o json`: the whole result, with its evidence and an integrity block (digest, optional signature).

Written as a stream (`write`): the per-object results, the bulk of a large report, are encoded one at a
time, so the report is never held whole in memory. The bytes are exactly those of encoding the whole
document at once (orjson, two-space indent), and the digest is that of its canonical form
(evidence.canonical), computed over the same pieces. With `--sign-key`, the canonical bytes are
gathered to be signed (Ed25519 signs a whole message, not a digest).
"""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any

import orjson

from ... import __version__
from ..run import SEVERITY, AuditResult
from ._streaming import PLACEHOLDER, IndentedList, around
from .context import ReportContext


def document(context: ReportContext, *, results: bool = True) -> dict[str, Any]:
    result = context.result
    report: dict[str, Any] = {
        "apiVersion": "podgate.io/v1alpha1",
        "kind": "AuditReport",
        "evidence": {"tool": {"name": "podgate", "version": __version__}, **context.evidence},
        "summary": summary(result),
        "results": [r.as_dict() for r in _ordered(result)] if results else PLACEHOLDER,
        "notes": list(result.notes),
    }
    if result.compare:
        report["compare"] = {
            "newlyFailing": sorted(r.ref for r in result.newly_failing()),
            "newlyPassing": sorted(r.ref for r in result.newly_passing()),
            "stillFailing": sorted(r.ref for r in result.still_failing()),
        }
    return report


def _ordered(result: AuditResult) -> list[Any]:
    return sorted(result.results, key=lambda r: (r.namespace, r.ref))


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


def write(context: ReportContext, out: IO[bytes]) -> None:
    """Write the sealed report to `out`, one result at a time.

    Each result's dict is built once and encoded twice: canonically for the digest (and signature), with
    a two-space indent for the output. The `integrity` block comes after `results` in the document, so
    everything before the results is written at once and the rest once the digest is known.
    """
    from ..evidence import INTEGRITY, integrity_block

    head = document(context, results=False)
    shared: dict[int, dict[str, Any]] = {}  # one dict per distinct (interned) finding

    # The digest (and signature) cover the canonical form: sorted keys, no spaces, no `integrity`.
    canonical_before, canonical_after = around(orjson.dumps(head, option=orjson.OPT_SORT_KEYS))
    digest = hashlib.sha256()
    signed: list[bytes] | None = [] if context.extra.get("signing_key") is not None else None

    def feed(chunk: bytes) -> None:
        digest.update(chunk)
        if signed is not None:
            signed.append(chunk)

    # The report as people read it: two-space indent. `integrity` holds its place in the key order
    # (after `results`, so the bytes before them do not depend on it) until it is known.
    head[INTEGRITY] = None
    pretty_before, _ = around(orjson.dumps(head, option=orjson.OPT_INDENT_2))
    listing = IndentedList(out, pretty_before)
    feed(canonical_before + b"[")
    for i, r in enumerate(_ordered(context.result)):
        data = r.as_dict(shared)
        if i:
            feed(b",")
        feed(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
        listing.add(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    feed(b"]" + canonical_after)
    head[INTEGRITY] = integrity_block(
        digest.hexdigest(), b"".join(signed) if signed is not None else None, context.extra.get("signing_key")
    )
    listing.close(around(orjson.dumps(head, option=orjson.OPT_INDENT_2))[1])
    out.write(b"\n")


def render(context: ReportContext) -> str:
    buffer = io.BytesIO()
    write(context, buffer)
    return buffer.getvalue().decode("utf-8")
