"""Judging in worker processes (`--jobs N`) gives exactly the serial result; interning and streamed
reports keep every byte; workers fail, and stop, cleanly."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import audit_helpers
import orjson
import pytest
from audit_helpers import bad_pod, generated_dump, good_pod, write_policy
from conftest import POLICIES

from webhook.audit import parallel
from webhook.audit.evidence import policy_set_evidence, seal, verify
from webhook.audit.formats import json_report, sarif
from webhook.audit.formats.context import ReportContext
from webhook.audit.parallel import AuditWorkerError
from webhook.audit.run import AuditResult, Interner, audit
from webhook.audit.stream import Located
from webhook.cli import main
from webhook.inputs import InputError
from webhook.policy import load_policies

# The worker tests' fixtures from audit_helpers (named there, so found here under their own names);
# `workers_allowed` applies to every test here: threads other tests left running must not turn these
# tests serial (tests below that mean otherwise patch `active_count` again).
_workers_allowed, _small_batches = audit_helpers.workers_allowed, audit_helpers.small_batches


def located(objects: list[dict[str, Any]]) -> list[Located]:
    return [Located("dump.json", 0, i, None, obj) for i, obj in enumerate(objects)]


def policy_set(tmp_path: Path) -> Any:
    """The shipped library plus a policy with a namespaceSelector (notes, labels sent along)."""
    selected = write_policy(tmp_path / "extra", "prod-no-root", actions="[Warn]")
    selected.write_text(
        selected.read_text().replace(
            "  match:\n", "  match:\n    namespaceSelector: {matchLabels: {env: prod}}\n"
        )
    )
    return load_policies(POLICIES, selected)


def snapshot(result: AuditResult) -> dict[str, Any]:
    return {
        "results": [r.as_dict() for r in result.results],
        "owned": [r.owned for r in result.results],
        "counts": (result.objects_read, result.objects_judged, result.objects_folded),
        "skipped": dict(result.skipped_kinds),
        "tally": [list(c.items()) for c in (result.tally.matched, result.tally.failed, result.tally.errors)],
        "violations": list(result.tally.violations.items()),
        "notes": result.notes,
        "compare": [[r.ref for r in g()] for g in (result.newly_failing, result.newly_passing)],
    }


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many workers each audit started (so a test cannot pass by judging serially)."""
    counts: list[int] = []
    real = parallel._Workers

    def spy(policies: Any, old: Any, jobs: int) -> Any:
        workers = real(policies, old, jobs)
        counts.append(len(workers.pool))
        return workers

    monkeypatch.setattr(parallel, "_Workers", spy)
    return counts


@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_give_exactly_the_serial_result(
    tmp_path: Path, small_batches: None, started: list[int], jobs: int
) -> None:
    policies = policy_set(tmp_path)
    objects = located(generated_dump(120))
    serial = audit(objects, policies)
    parallel_result = audit(objects, policies, jobs=jobs)
    assert started == [jobs]
    assert snapshot(parallel_result) == snapshot(serial)
    assert serial.notes and serial.objects_folded and serial.tally.errors  # the dump exercises them
    assert multiprocessing.active_children() == []


def test_workers_compare_two_sets_exactly_as_serially(
    tmp_path: Path, small_batches: None, started: list[int]
) -> None:
    old = load_policies(POLICIES / "no-root.yaml")
    new = policy_set(tmp_path)
    objects = located(generated_dump(60))
    serial = audit(objects, new, old_policies=old)
    assert snapshot(audit(objects, new, old_policies=old, jobs=2)) == snapshot(serial)
    assert started == [2]
    assert serial.newly_failing() and serial.still_failing()


def test_small_inputs_never_start_a_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("a worker was started for a small input")

    monkeypatch.setattr(parallel, "_Workers", refuse)
    result = audit(located(generated_dump(20)), policy_set(tmp_path), jobs=2)
    assert result.objects_judged > 20


def test_identical_findings_are_one_object_and_memory_follows_distinct_findings(tmp_path: Path) -> None:
    objects = located([bad_pod(f"p{i}", "shop") for i in range(300)])
    result = audit(objects, load_policies(POLICIES))
    first = result.results[0].findings
    assert len(first) > 3
    assert all(r.findings is first for r in result.results)  # one tuple, one set of Findings
    interner = Interner()
    raw = [(f.policy, f.rule, f.actions, f.path, f.message, f.remediation) for f in first]
    again = [tuple((x + ".")[:-1] if isinstance(x, str) else x for x in r) for r in raw]  # equal, not same
    assert interner.findings(raw) is interner.findings(again)  # type: ignore[arg-type]
    assert len(interner) == len(first)


def _context(result: AuditResult, policies: Any, **extra: Any) -> ReportContext:
    evidence = {"policySet": policy_set_evidence(policies), "startedAt": "2026-12-02T00:00:00.000Z"}
    return ReportContext(result=result, evidence=evidence, extra=extra)


def test_streamed_json_report_is_the_document_encoded_whole(tmp_path: Path) -> None:
    """Same bytes (and so the same digest) as sealing and encoding the whole document at once."""
    policies = policy_set(tmp_path)
    result = audit(
        located(generated_dump(60)), policies, old_policies=load_policies(POLICIES / "no-root.yaml")
    )
    context = _context(result, policies)
    streamed = io.BytesIO()
    json_report.write(context, streamed)
    whole = orjson.dumps(seal(json_report.document(context)), option=orjson.OPT_INDENT_2) + b"\n"
    assert streamed.getvalue() == whole
    assert verify(json.loads(streamed.getvalue())) == []


def test_streamed_json_report_with_no_results_and_a_signature(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    policies = load_policies(POLICIES / "no-root.yaml")
    key = Ed25519PrivateKey.generate()
    result = audit(located([good_pod("ok")]), policies)
    context = _context(result, policies, signing_key=key)
    streamed = io.BytesIO()
    json_report.write(context, streamed)
    whole = orjson.dumps(seal(json_report.document(context), key), option=orjson.OPT_INDENT_2) + b"\n"
    assert streamed.getvalue() == whole
    assert verify(json.loads(streamed.getvalue()), key.public_key()) == []


def test_streamed_sarif_is_the_log_encoded_whole(tmp_path: Path) -> None:
    policies = policy_set(tmp_path)
    odd = bad_pod('ünï "q" \\ \t\u2028\x7f/<&>', "shop")  # what both encoders might escape differently
    result = audit(located([*generated_dump(40), odd]), policies)
    text = sarif.render(_context(result, policies))
    assert any(
        r["message"]["text"].startswith("Pod/shop/ünï") for r in json.loads(text)["runs"][0]["results"]
    )
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert len(json.loads(text)["runs"][0]["results"]) == sum(len(r.findings) for r in result.failing)
    empty = sarif.render(_context(audit([], policies), policies))
    assert empty == json.dumps(json.loads(empty), indent=2, ensure_ascii=False) + "\n"


def test_cli_jobs_gives_the_same_report(
    tmp_path: Path, small_batches: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": generated_dump(50)}))
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"report-{jobs}.json"
        args = ["audit", "-o", "json", "--fail-on", "never", "--jobs", jobs, "--output-file", str(out)]
        assert main([*args, str(dump)]) == 0
        report = json.loads(out.read_text())
        for volatile in ("integrity", "evidence"):
            report.pop(volatile)
        report["summary"].pop("durationSeconds")
        reports.append(report)
    assert reports[0] == reports[1] and reports[0]["results"]
    with pytest.raises(SystemExit):
        main(["audit", "--jobs", "0", str(dump)])
    assert "must be at least 1" in capsys.readouterr().err


def _judge_that(action: Any) -> Any:
    """A `judge` that runs `action` on the object named "boom" (in the worker: it is forked)."""
    real = parallel.judge

    def judge(subject: Any, policies: Any, old: Any) -> Any:
        if subject.object["metadata"]["name"] == "boom":
            action()
        return real(subject, policies, old)

    return judge


def test_a_worker_that_raises_is_reported_and_every_worker_stops(
    monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    def fail() -> None:
        raise ValueError("check exploded")

    monkeypatch.setattr(parallel, "judge", _judge_that(fail))
    objects = located([bad_pod(f"p{i}") for i in range(30)] + [bad_pod("boom")] + [bad_pod("z")] * 20)
    with pytest.raises(AuditWorkerError, match=r"audit worker \d failed: ValueError: check exploded"):
        audit(objects, load_policies(POLICIES / "no-root.yaml"), jobs=2)
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_reported_and_the_others_stop(
    monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    monkeypatch.setattr(parallel, "judge", _judge_that(lambda: os.kill(os.getpid(), signal.SIGKILL)))
    objects = located([bad_pod(f"p{i}") for i in range(30)] + [bad_pod("boom")] + [bad_pod("z")] * 20)
    with pytest.raises(AuditWorkerError, match=r"audit worker \d \(pid \d+\) died \(killed by signal 9\)"):
        audit(objects, load_policies(POLICIES / "no-root.yaml"), jobs=2)
    assert multiprocessing.active_children() == []


def test_the_cli_reports_a_dead_worker_as_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_batches: None, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(parallel, "judge", _judge_that(lambda: os._exit(3)))
    dump = tmp_path / "dump.json"
    items = [bad_pod(f"p{i}") for i in range(30)] + [bad_pod("boom")]
    dump.write_text(json.dumps({"kind": "List", "items": items}))
    assert main(["audit", "--jobs", "2", str(dump)]) == 2
    err = capsys.readouterr().err
    assert "died (exit code 3); the audit is incomplete" in err and "Traceback" not in err


def _interrupted(objects: list[Located], at: int, error: BaseException) -> Iterator[Located]:
    for i, obj in enumerate(objects):
        if i == at:
            raise error
        yield obj


@pytest.mark.parametrize("error", [KeyboardInterrupt(), InputError("dump.json: document 0: items[40]: bad")])
def test_ctrl_c_or_bad_input_mid_way_stops_the_workers(small_batches: None, error: BaseException) -> None:
    objects = located([bad_pod(f"p{i}") for i in range(60)])
    with pytest.raises(type(error)):
        audit(_interrupted(objects, 40, error), load_policies(POLICIES / "no-root.yaml"), jobs=2)
    assert multiprocessing.active_children() == []


def test_default_jobs_is_one_where_forking_is_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)
    assert parallel.default_jobs() == parallel.available_cores()
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 2)  # e.g. the continuous audit's server
    assert parallel.default_jobs() == 1


def test_junit_written_suite_by_suite_is_the_tree_written_whole(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from webhook.audit.formats import junit

    policies = policy_set(tmp_path)
    for objects in (generated_dump(30), []):
        xml = junit.render(_context(audit(located(objects), policies), policies))
        head, _, body = xml.partition("\n")
        assert head == '<?xml version="1.0" encoding="UTF-8"?>'
        whole = ET.fromstring(body)
        ET.indent(whole)
        assert body == ET.tostring(whole, encoding="unicode") + "\n"


def test_ctrl_c_in_a_terminal_exits_130_without_traceback_or_leftover_workers(tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: workers ignore it, the audit stops them."""
    import subprocess
    import sys
    import time

    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"kind": "List", "items": [bad_pod(f"p{i}") for i in range(20000)]}))
    argv = [sys.executable, "-m", "webhook", "audit", "--jobs", "2", "-o", "json", str(dump)]
    argv += ["--output-file", str(tmp_path / "report.json")]
    process = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True
    )
    children: list[int] = []
    deadline = time.monotonic() + 120
    while not children and process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # the process may be gone already
            listing = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
            children = [int(p) for p in listing.split()]
        time.sleep(0.01)
    assert children, "the audit finished or stalled before its workers could be seen"
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_no_worker_is_forked_beside_other_threads(
    monkeypatch: pytest.MonkeyPatch, small_batches: None, started: list[int], tmp_path: Path
) -> None:
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 2)
    objects = located(generated_dump(40))
    policies = policy_set(tmp_path)
    assert snapshot(audit(objects, policies, jobs=2)) == snapshot(audit(objects, policies))
    assert started == []
