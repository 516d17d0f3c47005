"""`-o sarif`: SARIF 2.1.0 for code scanning of manifests in a repository.

One rule per policy rule, one result per violation, located at the manifest file and the line where the
object starts (YAML); objects read from stdin or a cluster get a logical location (Kind/namespace/name).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ... import __version__
from ..run import Finding, ObjectResult
from .context import ReportContext

LEVELS = {"Deny": "error", "Warn": "warning", "Audit": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(context: ReportContext) -> str:
    result = context.result
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for r in sorted(result.failing, key=lambda r: (r.file or "", r.line or 0, r.ref)):
        for f in r.findings:
            rule_id = f"{f.policy}/{f.rule}"
            if rule_id not in rules:
                rules[rule_id] = {
                    "id": rule_id,
                    "name": f.rule,
                    "shortDescription": {"text": f"{f.policy}: {f.rule}"},
                    "help": {"text": f.remediation or f.message},
                    "defaultConfiguration": {"level": LEVELS[f.action]},
                    "properties": {"policy": f.policy, "actions": list(f.actions)},
                }
            results.append(_result(r, f, rule_id, list(rules).index(rule_id)))
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "podgate",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "invocations": [_invocation(context)],
                "properties": {"policySetDigest": context.evidence.get("policySet", {}).get("digest")},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _result(r: ObjectResult, f: Finding, rule_id: str, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"logicalLocations": [{"name": r.ref, "kind": "resource"}]}
    if r.file is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(r.file)}}
        if r.line is not None:
            physical["region"] = {"startLine": r.line}
        location["physicalLocation"] = physical
    fingerprint = hashlib.sha256(f"{r.ref}\0{rule_id}\0{f.path}".encode()).hexdigest()
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[f.action],
        "message": {"text": f"{r.ref}: {f.message}"},
        "locations": [location],
        "partialFingerprints": {"podgateObjectRuleField/v1": fingerprint},
        "properties": {"fieldPath": f.path, "action": f.action, "source": r.source},
    }


def _uri(file: str) -> str:
    path = Path(file)
    return path.as_uri() if path.is_absolute() else path.as_posix()


def _invocation(context: ReportContext) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    for field, key in (("startTimeUtc", "startedAt"), ("endTimeUtc", "finishedAt")):
        if context.evidence.get(key):
            invocation[field] = context.evidence[key]
    return invocation
