"""Suite results as text (people), JSON (tools) and JUnit XML (CI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from .runner import SuiteResult


def as_text(results: Sequence[SuiteResult], errors: Sequence[str]) -> str:
    lines: list[str] = []
    for suite in results:
        lines.append(f"{'PASS' if suite.passed else 'FAIL'}  {suite.name}  ({suite.path})")
        for case in suite.cases:
            mark = "ok  " if case.passed else "FAIL"
            lines.append(f"  {mark} {case.name}{'  (golden file updated)' if case.updated else ''}")
            lines += [f"         {line}" for failure in case.failures for line in failure.splitlines()]
    lines += [f"ERROR {problem}" for problem in errors]
    cases = [c for s in results for c in s.cases]
    failed = sum(not c.passed for c in cases)
    lines.append(
        f"{len(results)} suite(s), {len(cases)} case(s): {len(cases) - failed} passed, {failed} failed"
        + (f", {len(errors)} suite error(s)" if errors else "")
    )
    return "\n".join(lines) + "\n"


def as_data(results: Sequence[SuiteResult], errors: Sequence[str]) -> dict[str, Any]:
    return {
        "suites": [
            {
                "name": suite.name,
                "path": str(suite.path),
                "passed": suite.passed,
                "cases": [
                    {
                        "name": case.name,
                        "passed": case.passed,
                        "failures": list(case.failures),
                        "updated": case.updated,
                        "allowed": case.decision.allowed if case.decision else None,
                        "violations": [v.as_dict() for v in case.decision.violations]
                        if case.decision
                        else [],
                        "patch": list(case.patch),
                    }
                    for case in suite.cases
                ],
            }
            for suite in results
        ],
        "errors": list(errors),
        "passed": not errors and all(s.passed for s in results),
    }


def as_junit(results: Sequence[SuiteResult], errors: Sequence[str]) -> str:
    """One <testsuite> per suite, one <testcase> per case; suite errors as a suite with an <error>."""
    root = ET.Element("testsuites", name="podgate test")
    total = failures = 0
    for suite in results:
        failed = sum(not c.passed for c in suite.cases)
        total, failures = total + len(suite.cases), failures + failed
        element = ET.SubElement(
            root, "testsuite", name=suite.name, file=str(suite.path), tests=str(len(suite.cases)),
            failures=str(failed), errors="0",
        )  # fmt: skip
        for case in suite.cases:
            testcase = ET.SubElement(element, "testcase", name=case.name, classname=suite.name)
            if case.failures:
                failure = ET.SubElement(testcase, "failure", message=case.failures[0].splitlines()[0])
                failure.text = "\n".join(case.failures)
    if errors:
        element = ET.SubElement(
            root, "testsuite", name="suite errors", tests=str(len(errors)), errors=str(len(errors))
        )
        for i, problem in enumerate(errors):
            testcase = ET.SubElement(element, "testcase", name=f"error {i}", classname="suite errors")
            ET.SubElement(testcase, "error", message=problem.splitlines()[0]).text = problem
    root.set("tests", str(total + len(errors)))
    root.set("failures", str(failures))
    root.set("errors", str(len(errors)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
