"""Renderers: each module has `render(report: ReportContext) -> str`."""

from __future__ import annotations

FORMATS = ("text", "json", "junit", "sarif", "policyreport")
