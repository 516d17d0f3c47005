"""scan-verdicts: every image must have passed its vulnerability scan, or be on an approved list.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].image
Allowed values:
  an image (by its digest) that a scanner report covers with no vulnerability at or above
  `severityThreshold` (after `ignoreUnfixed` and `ignoreVulnerabilities`), or that a digest allow-list
  approves and no report fails. Anything else is a finding: failed scans name their worst
  vulnerabilities; unscanned or unpinned images name the image and how to get it scanned.

The reports (Trivy or Grype JSON, digest allow-lists: see _scan_reports.py) are read when the policy
set is loaded, so a reload of the policies re-reads them; their files are listed in
`PolicySet.data_sources` for the reloader to watch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from ..images import ImageReferenceError, parse_image
from ..podspec import PodView
from ..registry import CheckFn, CheckParams, check
from ..result import Finding
from ._scan_reports import SEVERITY_RANK, ImageVerdict, ReportError, Verdicts, load_verdicts

DEFAULT_HOW_TO_SCAN = (
    "scan it in CI (trivy image --format json, or grype -o json) after pushing it, and add the report "
    "to the scan-reports ConfigMap"
)
SHOWN = 3  # vulnerabilities named in a message; the rest are counted


class Params(CheckParams):
    reports: list[str] = Field(min_length=1)  # report files or directories
    severity_threshold: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "HIGH"  # at or above fails
    ignore_unfixed: bool = False  # vulnerabilities with no fixed version do not count
    ignore_vulnerabilities: list[str] = Field(default_factory=list)  # accepted risks, e.g. CVE-2024-1234
    match_tags: bool = False  # trust a report for a tag (tags can move): only when digests are impossible
    how_to_scan: str = DEFAULT_HOW_TO_SCAN  # shown with unscanned images
    reports_optional: bool = False  # true: no report path exists yet -> the check judges nothing

    _verdicts: Verdicts | None = PrivateAttr(default=None)

    @field_validator("reports")
    @classmethod
    def _relative_to_the_policy_file(cls, reports: list[str], info: ValidationInfo) -> list[str]:
        """A relative report path names a path beside the policy file (so a policy and its reports
        move together, e.g. a PolicyTest suite's fixtures), not one in the current directory."""
        from pathlib import Path

        base = (info.context or {}).get("policy_dir")  # loader.POLICY_DIR_CONTEXT
        if base is None:
            return reports
        return [str(Path(base) / r) if not Path(r).is_absolute() else r for r in reports]

    @model_validator(mode="after")
    def _load_reports(self) -> Params:
        """Read the reports now, so a bad report is a load error naming its file and field."""
        from pathlib import Path

        if self.reports_optional and not any(Path(p).exists() for p in self.reports):
            return self
        try:
            self._verdicts = load_verdicts(self.reports)
        except ReportError as exc:
            raise ValueError(str(exc)) from None
        return self


@check("scan-verdicts", params=Params, summary="images must have passed their vulnerability scan")
def build(params: Params) -> CheckFn:
    verdicts = params._verdicts
    threshold = SEVERITY_RANK[params.severity_threshold]
    ignored = frozenset(params.ignore_vulnerabilities)

    def blocking(verdict: ImageVerdict) -> list[str]:
        found = [
            v
            for v in verdict.vulnerabilities.values()
            if SEVERITY_RANK[v.severity] >= threshold
            and v.id not in ignored
            and not (params.ignore_unfixed and not v.fixed)
        ]
        found.sort(key=lambda v: (-SEVERITY_RANK[v.severity], v.id, v.package))
        return [v.describe() for v in found]

    # Each verdict's blocking vulnerabilities depend on the params only: worked out once, at load.
    def judged(table: dict[str, ImageVerdict]) -> dict[str, tuple[ImageVerdict, list[str]]]:
        return {key: (verdict, blocking(verdict)) for key, verdict in table.items()}

    by_digest = judged(verdicts.by_digest) if verdicts is not None else {}
    by_reference = judged(verdicts.by_reference) if verdicts is not None else {}

    def run(pod: PodView) -> Iterator[Finding]:
        if verdicts is None:  # reportsOptional, and no report configured yet
            return
        for c in pod.containers:
            image = c.image
            try:
                ref = parse_image(image)
            except ImageReferenceError:
                ref = None
            found = None
            if ref is not None and ref.digest:
                found = by_digest.get(ref.digest)
            elif ref is not None and params.match_tags:
                found = by_reference.get(f"{ref.name}:{ref.tag or 'latest'}")
            verdict, bad = found if found is not None else (None, [])
            where = f"{c.path}.image"
            if verdict is not None and bad:
                more = f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
                yield Finding(
                    path=where,
                    value=image,
                    problem=(
                        f"{c.label} image {image} failed its scan ({verdict.sources[0]}): {len(bad)} "
                        f"vulnerabilit{'ies' if len(bad) > 1 else 'y'} at or above "
                        f"{params.severity_threshold}: {'; '.join(bad[:SHOWN])}{more}"
                    ),
                    fix="rebuild the image with the fixed packages and scan it again",
                    image=image,
                )
            elif verdict is not None and (verdict.scanned or verdict.approved):
                continue
            elif ref is not None and not ref.digest and not params.match_tags:
                yield Finding(
                    path=where,
                    value=image,
                    problem=f"{c.label} image {image} is not pinned by digest: no scan verdict applies to it",
                    fix=f"use {ref.name}@sha256:<digest> of the scanned image, or {params.how_to_scan}",
                    image=image,
                )
            else:
                yield Finding(
                    path=where,
                    value=image,
                    problem=f"{c.label} image {image} has no scan verdict",
                    fix=params.how_to_scan,
                    image=image,
                )

    # What a reloader watches: the configured paths (a ConfigMap update swaps a folder's `..data` link)
    # and every report read from them.
    files = verdicts.files if verdicts is not None else []
    run.data_sources = tuple(dict.fromkeys([*params.reports, *files]))  # type: ignore[attr-defined]
    return run
