"""`-o junit`: one test suite per policy; one failing test case per failing object (JUnit XML).

Passing objects are counted in one passing case per policy rather than listed one by one, so a report
over 10,000 pods stays small; `tests` is the number of objects the policy matched. Written one suite
(policy) at a time, so only one suite's elements are in memory at once.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import IO

from ..run import Finding, ObjectResult, strongest
from .context import ReportContext
from .json_report import summary


def write(context: ReportContext, out: IO[bytes]) -> None:
    """Write the report one test suite at a time (the same bytes as building the whole tree)."""
    result = context.result
    failures: dict[str, list[tuple[ObjectResult, list[Finding]]]] = defaultdict(list)
    for r in sorted(result.failing, key=lambda r: r.ref):
        by_policy: dict[str, list[Finding]] = defaultdict(list)
        for f in r.findings:
            by_policy[f.policy].append(f)
        for policy, findings in by_policy.items():
            failures[policy].append((r, findings))

    matched = {entry["policy"]: entry for entry in summary(result)["policies"]}
    suites = []
    for policy in sorted(set(matched) | set(failures)):
        entry = matched.get(policy, {})
        passing = max(entry.get("matched", 0) - entry.get("failed", 0), 0)
        suites.append((policy, failures.get(policy, []), passing))
    root = ET.Element("testsuites", name="podgate audit")
    root.set("tests", str(sum(len(failed) + (1 if passing else 0) for _, failed, passing in suites)))
    root.set("failures", str(sum(len(failed) for _, failed, _ in suites)))
    root.set("errors", "0")
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    empty = ET.tostring(root, encoding="unicode")  # <testsuites ... />
    if not suites:
        out.write(empty.encode("utf-8") + b"\n")
        return
    out.write(empty.removesuffix(" />").encode("utf-8") + b">")
    for policy, failed, passing in suites:
        suite = _suite(policy, failed, passing, context.evidence.get("startedAt", ""))
        ET.indent(suite, level=1)
        out.write(b"\n  " + ET.tostring(suite, encoding="unicode").encode("utf-8"))
    out.write(b"\n</testsuites>\n")


def _suite(
    policy: str, failed: list[tuple[ObjectResult, list[Finding]]], passing: int, timestamp: str
) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        name=policy,
        tests=str(len(failed) + (1 if passing else 0)),
        failures=str(len(failed)),
        errors="0",
        skipped="0",
        timestamp=timestamp,
    )
    for r, findings in failed:
        case = ET.SubElement(suite, "testcase", name=r.ref, classname=policy, time="0")
        worst = strongest(tuple(f.action for f in findings))
        failure = ET.SubElement(case, "failure", message=findings[0].message, type=worst)
        failure.text = "\n".join(f"[{f.action}] {f.path}: {f.message}" for f in findings)
        failure.text += f"\nsource: {r.source}"
    if passing:
        ET.SubElement(suite, "testcase", name=f"{passing} object(s) pass", classname=policy, time="0")
    return suite


def render(context: ReportContext) -> str:
    buffer = io.BytesIO()
    write(context, buffer)
    return buffer.getvalue().decode("utf-8")
