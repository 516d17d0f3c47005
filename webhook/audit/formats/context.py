"""What every renderer receives: the audit result plus the evidence and limits of this run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..run import AuditResult


@dataclass(slots=True)
class ReportContext:
    result: AuditResult
    evidence: dict[str, Any]
    top: int = 10  # worst offenders shown in the text summary
    max_results_per_report: int = 500  # PolicyReport: results per namespace report
    max_bytes_per_report: int = 1_000_000  # PolicyReport: etcd refuses objects over ~1.5 MiB
    extra: dict[str, Any] = field(default_factory=dict)
