"""Run a suite's cases: exact violations, warnings, annotations, patches, golden files, idempotence.

Whatever a case asks, every mutation is checked: its patch must apply with an independent JSON Patch
implementation (pyjsonpatch) to the object as given and yield the mutated object, and mutating the
mutated object must give an empty patch.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyjsonpatch
import yaml

from ..policy import Decision, PolicySet, Request, Violation, evaluate, mutate
from ..policy.yamlio import YamlError, load_documents
from .document import ExpectedViolation
from .loader import Suite, SuiteCase


@dataclass(frozen=True)
class CaseResult:
    name: str
    failures: tuple[str, ...]  # empty: passed
    updated: bool = False  # the golden file was (re)written by --update
    decision: Decision | None = None
    patch: Sequence[Mapping[str, Any]] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class SuiteResult:
    name: str
    path: Path
    cases: tuple[CaseResult, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)


def run_suite(suite: Suite, *, update: bool = False) -> SuiteResult:
    return SuiteResult(
        suite.name, suite.path, tuple(run_case(suite.policies, c, update) for c in suite.cases)
    )


def run_case(policies: PolicySet, case: SuiteCase, update: bool = False) -> CaseResult:
    expect = case.document.expect
    request = case.request
    failures: list[str] = []
    decision = evaluate(policies, request)
    if decision.allowed != expect.allowed:
        verdict = "allowed" if decision.allowed else "denied"
        failures.append(f"expected {'allowed' if expect.allowed else 'denied'}, got {verdict}")
        failures += [f"  violation: {v.message}" for v in decision.violations if expect.violations is None]
    if expect.violations is not None:
        failures += compare_violations(expect.violations, decision.violations)
    if expect.warnings is not None:
        failures += _compare_warnings(expect.warnings, decision.warnings)
    if expect.audit_annotations is not None:
        failures += _compare_annotations(expect.audit_annotations, decision.audit_annotations)

    mutation = mutate(policies, request)
    mutated = mutation.object if mutation.patch else request.object
    failures += _check_patch(policies, request, mutation.patch, mutated)
    if expect.patch is not None and mutation.patch != expect.patch:
        failures.append(f"patch differs:\n  expected {expect.patch}\n  got      {mutation.patch}")
    updated = False
    if case.golden is not None:
        if update:
            updated = _write_golden(case.golden, mutated)
        else:
            failures += _compare_golden(case.golden, mutated)
    if expect.patched_allowed is not None:
        after = evaluate(policies, dataclasses.replace(request, object=mutated))
        if after.allowed != expect.patched_allowed:
            failures.append(
                f"expected the patched object to be {'allowed' if expect.patched_allowed else 'denied'},"
                f" got {'allowed' if after.allowed else 'denied'}"
                + "".join(f"\n  violation: {v.message}" for v in after.violations)
            )
    return CaseResult(case.name, tuple(failures), updated, decision, mutation.patch)


def compare_violations(expected: Sequence[ExpectedViolation], actual: Sequence[Violation]) -> list[str]:
    """Exactly the expected violations, in any order: a maximum matching, then what is left over."""
    candidates = [[j for j, v in enumerate(actual) if _matches(e, v)] for e in expected]
    owner: dict[int, int] = {}  # actual index -> expected index

    def assign(i: int, seen: set[int]) -> bool:  # augmenting path (Kuhn's algorithm); lists are short
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    matched = {i for i in range(len(expected)) if assign(i, set())}
    failures = [
        f"expected violation not found: {_describe(e)}" for i, e in enumerate(expected) if i not in matched
    ]
    failures += [
        f"unexpected violation: {v.policy}/{v.rule} at {v.path}: {v.message}"
        for j, v in enumerate(actual)
        if j not in owner
    ]
    return failures


def _matches(expected: ExpectedViolation, actual: Violation) -> bool:
    return (
        expected.policy == actual.policy
        and expected.rule in (None, actual.rule)
        and expected.path in (None, actual.path)
        and (expected.message is None or re.search(expected.message, actual.message) is not None)
    )


def _describe(e: ExpectedViolation) -> str:
    parts = [f"policy {e.policy}"]
    parts += [f"rule {e.rule}"] if e.rule else []
    parts += [f"path {e.path}"] if e.path else []
    parts += [f"message /{e.message}/"] if e.message else []
    return ", ".join(parts)


def _compare_warnings(expected: Sequence[str], actual: Sequence[str]) -> list[str]:
    if len(expected) != len(actual):
        return [f"expected {len(expected)} warning(s), got {len(actual)}: {list(actual)}"]
    return [
        f"warning {i} does not match /{pattern}/: {text}"
        for i, (pattern, text) in enumerate(zip(expected, actual, strict=True))
        if re.search(pattern, text) is None
    ]


def _compare_annotations(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    if set(expected) != set(actual):
        return [f"expected audit annotations {sorted(expected)}, got {sorted(actual)}"]
    return [
        f"audit annotation {key} does not match /{pattern}/: {actual[key]}"
        for key, pattern in expected.items()
        if re.search(pattern, actual[key]) is None
    ]


def _check_patch(
    policies: PolicySet, request: Request, patch: list[dict[str, Any]], mutated: Mapping[str, Any] | None
) -> list[str]:
    """The rules every mutation obeys: applies independently, yields the mutated object, idempotent."""
    if not patch:
        return []
    try:
        applied = pyjsonpatch.apply_patch(copy.deepcopy(dict(request.object or {})), patch, mutate=False).obj
    except Exception as exc:  # any failure of the independent implementation is a finding
        return [f"the patch does not apply with pyjsonpatch: {type(exc).__name__}: {exc}"]
    failures = []
    if applied != mutated:
        failures.append("the patch applied with pyjsonpatch does not yield the mutated object")
    again = mutate(policies, dataclasses.replace(request, object=mutated))
    if again.patch:
        failures.append(f"mutation is not idempotent: mutating the mutated object gives {again.patch}")
    return failures


def _compare_golden(golden: Path, mutated: Mapping[str, Any] | None) -> list[str]:
    if not golden.is_file():
        return [f"golden file {golden} does not exist; write it with `podgate test --update`"]
    try:
        documents = [d for d in load_documents(golden) if d is not None]
    except YamlError as exc:
        return [str(exc)]
    if documents != [mutated]:
        return [f"the patched object differs from {golden} (`podgate test --update` rewrites it)"]
    return []


def _write_golden(golden: Path, mutated: Mapping[str, Any] | None) -> bool:
    """Write the patched object; True when the file changed."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(dict(mutated or {}), Dumper=dumper, sort_keys=False, allow_unicode=True)
    if golden.is_file() and golden.read_text(encoding="utf-8") == text:
        return False
    golden.write_text(text, encoding="utf-8")
    return True
