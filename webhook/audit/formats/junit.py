"""`-o junit`: one test suite per policy; one failing test case per failing object (JUnit XML).

Passing objects are counted in one passing case per policy rather than listed one by one, so a report
over 10,000 pods stays small; `tests` is the number of objects the policy matched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from ..run import SEVERITY, Finding, ObjectResult
from .context import ReportContext
from .json_report import summary


def render(context: ReportContext) -> str:
    result = context.result
    failures: dict[str, list[tuple[ObjectResult, list[Finding]]]] = defaultdict(list)
    for r in sorted(result.failing, key=lambda r: r.ref):
        by_policy: dict[str, list[Finding]] = defaultdict(list)
        for f in r.findings:
            by_policy[f.policy].append(f)
        for policy, findings in by_policy.items():
            failures[policy].append((r, findings))

    matched = {entry["policy"]: entry for entry in summary(result)["policies"]}
    root = ET.Element("testsuites", name="podgate audit")
    total_tests = total_failures = 0
    for policy in sorted(set(matched) | set(failures)):
        failed = failures.get(policy, [])
        entry = matched.get(policy, {})
        passing = max(entry.get("matched", 0) - entry.get("failed", 0), 0)
        tests = len(failed) + (1 if passing else 0)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=policy,
            tests=str(tests),
            failures=str(len(failed)),
            errors="0",
            skipped="0",
            timestamp=context.evidence.get("startedAt", ""),
        )
        for r, findings in failed:
            case = ET.SubElement(suite, "testcase", name=r.ref, classname=policy, time="0")
            strongest = max((f.action for f in findings), key=SEVERITY.__getitem__)
            failure = ET.SubElement(case, "failure", message=findings[0].message, type=strongest)
            failure.text = "\n".join(f"[{f.action}] {f.path}: {f.message}" for f in findings)
            failure.text += f"\nsource: {r.source}"
        if passing:
            ET.SubElement(suite, "testcase", name=f"{passing} object(s) pass", classname=policy, time="0")
        total_tests += tests
        total_failures += len(failed)
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
