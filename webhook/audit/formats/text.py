"""The readable summary: counts per policy and namespace, the worst offenders, and what to fix."""

from __future__ import annotations

from ..run import ObjectResult, worst_offenders
from .context import ReportContext
from .json_report import summary


def render(context: ReportContext) -> str:
    result = context.result
    data = summary(result)
    lines = [
        f"podgate audit: {data['objectsJudged']} pod-bearing object(s) judged of {data['objectsRead']} read"
        f" ({data['ownedObjectsFolded']} owned object(s) folded into their controller)",
        f"policy set {context.evidence.get('policySet', {}).get('digest', '?')}",
        "",
    ]
    if result.compare:
        lines += _compare(context)
    failing = result.failing
    by_action = data["failingObjectsByStrongestAction"]
    lines.append(
        f"{len(failing)} object(s) fail: {by_action['Deny']} would be denied, {by_action['Warn']} warned,"
        f" {by_action['Audit']} audited"
    )
    if data["policies"]:
        lines += ["", "By policy (objects failed/matched, owned objects included; namespaces with failures):"]
        for entry in data["policies"]:
            lines.append(f"  {entry['policy']}: {entry['failed']}/{entry['matched']}" + _errors(entry))
            for ns in entry["namespaces"]:
                if ns["failed"] or ns["errors"]:
                    lines.append(f"    {ns['namespace'] or '(no namespace)'}: {ns['failed']}/{ns['matched']}")
    offenders = worst_offenders(failing, context.top)
    if offenders:
        lines += ["", f"Worst offenders (top {len(offenders)} of {len(failing)}):"]
        for r in offenders:
            lines += _object(r)
    if result.notes:
        lines += ["", "Notes:"] + [f"  {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _errors(entry: dict[str, int]) -> str:
    return f" ({entry['errors']} could not be evaluated)" if entry["errors"] else ""


def _object(r: ObjectResult) -> list[str]:
    owned = f", +{r.owned} owned object(s)" if r.owned else ""
    lines = [f"  {r.ref} ({r.source}{owned})"]
    for f in r.findings:
        lines.append(f"    [{f.action}] {f.message}")
    return lines


def _compare(context: ReportContext) -> list[str]:
    result = context.result
    lines = []
    for title, group in (
        ("Newly failing (would break when the new policy set is enforced)", result.newly_failing()),
        ("Newly passing", result.newly_passing()),
        ("Still failing", result.still_failing()),
    ):
        lines.append(f"{title}: {len(group)}")
        for r in sorted(group, key=lambda r: r.ref)[: context.top]:
            lines.append(f"  {r.ref} ({r.source})")
            shown = r.findings if r.findings else (r.before or ())
            for f in shown:
                lines.append(f"    [{f.action}] {f.message}")
        if len(group) > context.top:
            lines.append(f"  ... and {len(group) - context.top} more (-o json lists them all)")
    return [*lines, ""]
