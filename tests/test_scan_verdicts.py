"""scan-verdicts: Trivy and Grype reports and digest allow-lists, read at load and re-read on reload."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import POLICIES, pod

from webhook.policy import PolicyLoadError, Request, evaluate, load_policies, load_policy_text

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"
WEB = "registry.example.com/shop/web@sha256:4e9d62b02bc05e96a460820405bb2607762573630283b411c8d034e80ddceb54"
API_INDEX = (
    "registry.example.com/shop/api@sha256:5387c48922f6298c01fa656bbf24b77d5a9af240dd97296af8734c3c5fcc717d"
)
API_MANIFEST = (
    "registry.example.com/shop/api@sha256:331e585dba0d4b6229de0b141eb99c3105cd7b6d308c9b9754b81c6e96a099bf"
)
WORKER = (
    "registry.example.com/shop/worker@sha256:87eba76e7f3164534045ba922e7770fb58bbd14ad732bbf5ba6f11cc56989e6e"
)
UNSCANNED = "registry.example.com/shop/cron@sha256:" + "ab" * 32


def policy(reports: Path | str = SCANS, **params: Any) -> str:
    extra = "".join(f"\n        {k}: {json.dumps(v)}" for k, v in params.items())
    return f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: scan-verdicts}}
spec:
  description: Images must pass their scan.
  remediation: Fix and rescan.
  exemptions: {{images: ["registry.example.com/tools/*"]}}
  rules:
    - check: scan-verdicts
      params:
        reports: [{json.dumps(str(reports))}]{extra}
"""


def judge(*images: str, text: str | None = None, init: str | None = None) -> Any:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    extra = {"initContainers": [{"name": "init", "image": init}]} if init else {}
    obj = pod(containers=containers, **extra)
    return evaluate(load_policy_text(text or policy()), Request(object=obj))


def messages(decision: Any) -> list[str]:
    return [v.message for v in decision.violations]


def test_a_failing_trivy_report_denies_naming_the_worst_vulnerabilities() -> None:
    decision = judge(WEB)
    assert not decision.allowed
    (v,) = decision.violations
    assert v.path == "spec.containers[0].image" and v.value == WEB
    assert v.message == (
        f'container "c0" (spec.containers[0]) image {WEB} failed its scan (trivy {SCANS}/trivy-web-1.4.2.json): '
        "3 vulnerabilities at or above HIGH: CVE-2024-45491 (CRITICAL, libexpat1 2.5.0-1, fixed in 2.5.0-1+deb12u1); "
        "CVE-2024-2511 (HIGH, openssl 3.0.14-1~deb12u1, no fix yet); "
        "CVE-2024-6119 (HIGH, libssl3 3.0.14-1~deb12u1, fixed in 3.0.14-1~deb12u2): "
        "rebuild the image with the fixed packages and scan it again [policy scan-verdicts]"
    )


def test_threshold_unfixed_and_accepted_risks() -> None:
    assert (
        "1 vulnerability at or above CRITICAL"
        in messages(judge(WEB, text=policy(severityThreshold="CRITICAL")))[0]
    )
    assert "2 vulnerabilities" in messages(judge(WEB, text=policy(ignoreUnfixed=True)))[0]
    accepted = ["CVE-2024-45491", "CVE-2024-2511", "CVE-2024-6119"]
    assert judge(WEB, text=policy(ignoreVulnerabilities=accepted)).allowed


def test_a_grype_report_covers_the_index_and_the_manifest_digest() -> None:
    assert judge(API_INDEX, API_MANIFEST).allowed  # Medium and Negligible only
    medium = judge(API_INDEX, text=policy(severityThreshold="MEDIUM"))
    assert not medium.allowed
    assert "CVE-2024-2236 (MEDIUM, libgcrypt20 1.10.1-3, no fix yet)" in messages(medium)[0]
    assert "(grype " in messages(medium)[0]
    assert judge(API_INDEX, text=policy(severityThreshold="LOW", ignoreUnfixed=True)).allowed
    assert not judge(API_INDEX, text=policy(severityThreshold="LOW")).allowed  # Negligible stays below LOW
    assert "1 vulnerability" in messages(judge(API_INDEX, text=policy(severityThreshold="LOW")))[0]


def test_allow_listed_digests_pass_and_unscanned_images_name_how_to_get_scanned() -> None:
    assert judge(WORKER).allowed
    base = "docker.io/library/debian@sha256:cae662172fd450bb0cd710a769079c05bfc5d8e35efa6576edc7d0377afdd4a2"
    assert judge(base).allowed
    decision = judge(UNSCANNED, text=policy(howToScan="run the `scan-image` CI job on it"))
    assert messages(decision) == [
        f'container "c0" (spec.containers[0]) image {UNSCANNED} has no scan verdict: '
        "run the `scan-image` CI job on it [policy scan-verdicts]"
    ]


def test_tags_need_pinning_unless_the_policy_trusts_tags() -> None:
    decision = judge("registry.example.com/shop/web:1.4.2", init="nginx:1.27")
    assert [v.path for v in decision.violations] == [
        "spec.initContainers[0].image",
        "spec.containers[0].image",
    ]
    assert "is not pinned by digest" in messages(decision)[1]
    assert "use registry.example.com/shop/web@sha256:<digest> of the scanned image" in messages(decision)[1]
    trusting = policy(matchTags=True)
    assert "failed its scan" in messages(judge("registry.example.com/shop/web:1.4.2", text=trusting))[0]
    assert judge("registry.example.com/shop/api:2.0.1", text=trusting).allowed
    assert "has no scan verdict" in messages(judge("nginx:1.27", text=trusting))[0]


def test_image_exemptions_and_every_container_kind() -> None:
    assert judge("registry.example.com/tools/debug:1").allowed
    decision = judge(WORKER, init=WEB)
    assert [v.path for v in decision.violations] == ["spec.initContainers[0].image"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.json", "{not json", "bad.json: not valid JSON"),
        ("other.json", '{"kind": "Pod"}', "neither a Trivy report"),
        ("notes.md", "hello", "notes.md: not a scan report"),
        ("list.txt", "sha256:1234\n", "list.txt: line 1: 'sha256:1234' is not sha256:<64 hex>"),
        (
            "sev.json",
            "SEVERITY",
            "sev.json: Results[0].Vulnerabilities[0].Severity: unknown severity 'SUPER'",
        ),
        ("nodigest.json", "NODIGEST", "the report names no image digest"),
        ("field.json", "FIELD", "field.json: Results[0].Vulnerabilities[0].VulnerabilityID: Field required"),
        ("grype.json", "GRYPEDIR", "source.type: a Grype report of an image is expected, not 'directory'"),
    ],
)
def test_bad_reports_fail_the_load_naming_file_and_field(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    trivy = json.loads((SCANS / "trivy-web-1.4.2.json").read_text())
    grype = json.loads((SCANS / "grype-api-2.0.1.json").read_text())
    if content == "SEVERITY":
        trivy["Results"][0]["Vulnerabilities"][0]["Severity"] = "SUPER"
    elif content == "NODIGEST":
        trivy["Metadata"]["RepoDigests"] = []
    elif content == "FIELD":
        del trivy["Results"][0]["Vulnerabilities"][0]["VulnerabilityID"]
    elif content == "GRYPEDIR":
        grype["source"] = {"type": "directory", "target": "/src"}
    if content in ("SEVERITY", "NODIGEST", "FIELD"):
        content = json.dumps(trivy)
    elif content == "GRYPEDIR":
        content = json.dumps(grype)
    (tmp_path / name).write_text(content)
    with pytest.raises(PolicyLoadError) as err:
        load_policy_text(policy(tmp_path))
    text = str(err.value)
    assert "spec.rules[0].params" in text and expected in text, text


def test_missing_reports_are_a_load_error_unless_optional(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="no such file or directory"):
        load_policy_text(policy(tmp_path / "absent"))
    dormant = load_policy_text(policy(tmp_path / "absent", reportsOptional=True))
    assert evaluate(dormant, Request(object=pod(containers=[{"name": "a", "image": UNSCANNED}]))).allowed
    active = load_policy_text(policy(SCANS, reportsOptional=True))
    assert not evaluate(active, Request(object=pod(containers=[{"name": "a", "image": UNSCANNED}]))).allowed


def test_reloading_the_policies_rereads_the_reports(tmp_path: Path) -> None:
    reports = tmp_path / "scan-reports"
    reports.mkdir()
    shutil.copy(SCANS / "approved.txt", reports)
    (tmp_path / "policy.yaml").write_text(policy(reports))
    first = load_policies(tmp_path / "policy.yaml")
    assert first.data_sources == (str(reports), str(reports / "approved.txt"))
    request = Request(object=pod(containers=[{"name": "a", "image": UNSCANNED}]))
    assert not evaluate(first, request).allowed
    (reports / "cron.txt").write_text(UNSCANNED.split("@")[1] + "\n")
    second = load_policies(tmp_path / "policy.yaml")
    assert evaluate(second, request).allowed
    assert not evaluate(first, request).allowed  # the set in use never changes under a request
    assert str(reports / "cron.txt") in second.data_sources


def test_the_shipped_policy_is_dormant_until_reports_are_mounted() -> None:
    shipped = load_policies(POLICIES / "scan-verdicts.yaml")
    (policy_,) = shipped.policies
    assert policy_.actions == ("Warn", "Audit")
    assert evaluate(shipped, Request(object=pod(containers=[{"name": "a", "image": UNSCANNED}]))).allowed
