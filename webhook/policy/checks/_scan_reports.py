"""Scanner verdicts from CI: Trivy and Grype JSON reports, and plain digest allow-lists.

Read once, when the policy set is loaded (and again on every reload), from files or directories that
CI writes or a ConfigMap mounts. Every problem names the file and, inside a JSON report, the field path.

    *.json   a Trivy report (`trivy image --format json`: SchemaVersion 2, Results[].Vulnerabilities[])
             or a Grype report (`grype -o json`: matches[], source.target)
    *.txt    a digest allow-list: one `sha256:<hex>` or `<repository>@sha256:<hex>` per line, `#` comments

An image is identified by digest (the content that runs). Tags are recorded too, for policies that
choose to trust them (`matchTags`), since a tag can be moved after the scan.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..images import ImageReferenceError, parse_image

# Both scanners' severities, on one scale. UNKNOWN never crosses a threshold; Grype's Negligible is below LOW.
SEVERITY_RANK = {"UNKNOWN": 0, "NEGLIGIBLE": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
ALLOW_LIST_SUFFIXES = (".txt",)
REPORT_SUFFIXES = (".json",)


class ReportError(ValueError):
    """A report that cannot be read; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    severity: str  # upper case, a SEVERITY_RANK key
    package: str
    installed: str
    fixed: str  # "" when no fix is known

    def describe(self) -> str:
        fix = f", fixed in {self.fixed}" if self.fixed else ", no fix yet"
        return f"{self.id} ({self.severity}, {self.package} {self.installed}{fix})"


@dataclass(slots=True)
class ImageVerdict:
    """What the reports say about one image (a digest, or a tag reference)."""

    sources: list[str] = field(default_factory=list)  # "trivy: file", "grype: file", "allow-list: file"
    vulnerabilities: dict[str, Vulnerability] = field(default_factory=dict)  # by id and package
    scanned: bool = False  # a scanner report covers it
    approved: bool = False  # an allow-list names it


@dataclass(slots=True)
class Verdicts:
    by_digest: dict[str, ImageVerdict] = field(default_factory=dict)
    by_reference: dict[str, ImageVerdict] = field(default_factory=dict)  # "registry/repo:tag"
    files: list[str] = field(default_factory=list)


# --- the report formats (only the fields we read; scanners add fields freely) -------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TrivyVulnerability(_Model):
    VulnerabilityID: str
    PkgName: str = ""
    InstalledVersion: str = ""
    FixedVersion: str = ""
    Severity: str


class TrivyResult(_Model):
    Target: str = ""
    Vulnerabilities: list[TrivyVulnerability] | None = None


class TrivyMetadata(_Model):
    RepoTags: list[str] | None = None
    RepoDigests: list[str] | None = None


class TrivyReport(_Model):
    SchemaVersion: int
    ArtifactName: str
    ArtifactType: str = "container_image"
    Metadata: TrivyMetadata = TrivyMetadata()
    Results: list[TrivyResult] | None = None


class GrypeFix(_Model):
    versions: list[str] = Field(default_factory=list)
    state: str = ""


class GrypeVulnerability(_Model):
    id: str
    severity: str
    fix: GrypeFix = GrypeFix()


class GrypeArtifact(_Model):
    name: str
    version: str = ""


class GrypeMatch(_Model):
    vulnerability: GrypeVulnerability
    artifact: GrypeArtifact


class GrypeTarget(_Model):
    userInput: str = ""
    manifestDigest: str = ""
    tags: list[str] | None = None
    repoDigests: list[str] | None = None


class GrypeSource(_Model):
    type: str
    target: GrypeTarget | str


class GrypeReport(_Model):
    matches: list[GrypeMatch]
    source: GrypeSource


# --- reading -------------------------------------------------------------------------------------------


def report_files(paths: list[str]) -> Iterator[Path]:
    """Files named, and files in directories, sorted; hidden entries (a ConfigMap's `..data`) skipped."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise ReportError(f"{given}: no such file or directory")


def load_verdicts(paths: list[str]) -> Verdicts:
    verdicts = Verdicts()
    for path in report_files(paths):
        verdicts.files.append(str(path))
        if path.suffix in ALLOW_LIST_SUFFIXES:
            _read_allow_list(path, verdicts)
        elif path.suffix in REPORT_SUFFIXES:
            _read_report(path, verdicts)
        else:
            raise ReportError(
                f"{path}: not a scan report: name Trivy or Grype reports *.json, digest allow-lists *.txt"
            )
    return verdicts


def _read_allow_list(path: Path, verdicts: Verdicts) -> None:
    for number, line in enumerate(_text(path).splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        digest = entry.rpartition("@")[2]
        if not DIGEST.match(digest):
            raise ReportError(
                f"{path}: line {number}: {entry!r} is not sha256:<64 hex> or <repository>@sha256:<64 hex>"
            )
        verdict = verdicts.by_digest.setdefault(digest, ImageVerdict())
        verdict.approved = True
        verdict.sources.append(f"allow-list {path}")


def _read_report(path: Path, verdicts: Verdicts) -> None:
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if isinstance(document, dict) and "SchemaVersion" in document:
        _add_trivy(_validate(TrivyReport, document, path), path, verdicts)
    elif isinstance(document, dict) and "matches" in document and "source" in document:
        _add_grype(_validate(GrypeReport, document, path), path, verdicts)
    else:
        raise ReportError(
            f"{path}: neither a Trivy report (no SchemaVersion) nor a Grype report (no matches and source)"
        )


def _add_trivy(report: TrivyReport, path: Path, verdicts: Verdicts) -> None:
    if report.ArtifactType != "container_image":
        raise ReportError(
            f"{path}: ArtifactType: a Trivy report of an image is expected, not {report.ArtifactType!r}"
        )
    found = []
    for i, result in enumerate(report.Results or []):
        for j, v in enumerate(result.Vulnerabilities or []):
            where = f"Results[{i}].Vulnerabilities[{j}].Severity"
            found.append(
                Vulnerability(
                    v.VulnerabilityID,
                    _severity(v.Severity, path, where),
                    v.PkgName,
                    v.InstalledVersion,
                    v.FixedVersion,
                )
            )
    digests = [d.rpartition("@")[2] for d in report.Metadata.RepoDigests or []]
    references = [report.ArtifactName, *(report.Metadata.RepoTags or [])]
    _record(f"trivy {path}", found, digests, references, path, verdicts)


def _add_grype(report: GrypeReport, path: Path, verdicts: Verdicts) -> None:
    target = report.source.target
    if report.source.type != "image" or isinstance(target, str):
        raise ReportError(
            f"{path}: source.type: a Grype report of an image is expected, not {report.source.type!r}"
        )
    found = []
    for i, match in enumerate(report.matches):
        v = match.vulnerability
        fixed = ", ".join(v.fix.versions) if v.fix.state == "fixed" else ""
        where = f"matches[{i}].vulnerability.severity"
        found.append(
            Vulnerability(
                v.id, _severity(v.severity, path, where), match.artifact.name, match.artifact.version, fixed
            )
        )
    digests = [d.rpartition("@")[2] for d in target.repoDigests or []]
    if target.manifestDigest:
        digests.append(target.manifestDigest)
    references = [target.userInput, *(target.tags or [])]
    _record(f"grype {path}", found, digests, references, path, verdicts)


def _record(
    source: str,
    found: list[Vulnerability],
    digests: list[str],
    references: list[str],
    path: Path,
    verdicts: Verdicts,
) -> None:
    keys = [d for d in digests if DIGEST.match(d)]
    if not keys:
        raise ReportError(
            f"{path}: the report names no image digest (RepoDigests / repoDigests): scan the image from its "
            "registry, after the push, so the report records the digest that will run"
        )
    targets = [verdicts.by_digest.setdefault(d, ImageVerdict()) for d in dict.fromkeys(keys)]
    for reference in dict.fromkeys(references):
        try:
            parsed = parse_image(reference)
        except ImageReferenceError:
            continue  # a local name such as "app:dev" the scanner was given; the digest still identifies it
        if parsed.tag and not parsed.digest:
            targets.append(verdicts.by_reference.setdefault(f"{parsed.name}:{parsed.tag}", ImageVerdict()))
    for verdict in targets:
        verdict.scanned = True
        verdict.sources.append(source)
        for v in found:
            verdict.vulnerabilities.setdefault(f"{v.id} {v.package}", v)


def _severity(value: str, path: Path, where: str) -> str:
    severity = value.upper()
    if severity not in SEVERITY_RANK:
        raise ReportError(f"{path}: {where}: unknown severity {value!r}; known: {', '.join(SEVERITY_RANK)}")
    return severity


def _validate(model: type[_Model], document: Any, path: Path) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        raise ReportError(f"{path}: {where}: {error['msg']}") from None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None
