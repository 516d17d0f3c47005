"""A YAML List split into item texts parsed by the workers (`--jobs N`) reads exactly as the serial reader:
same objects, lines and places; anything the cut could misread falls back to the serial reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import audit_helpers
import pytest
import yaml
from audit_helpers import bench_audit, generated_dump

from webhook.audit import stream
from webhook.audit.split import DeferredItem, SplitUnsound, pieces, split_list
from webhook.audit.stream import read_sources
from webhook.cli import main
from webhook.inputs import InputError

ROOT = Path(__file__).resolve().parent.parent
ADMISSION = ROOT.parent / "shared" / "fixtures" / "admission"
write_dumps = bench_audit().write_dumps  # the benchmark's kubectl-style dumps


# The worker tests' fixtures from audit_helpers (named there, so found here under their own names);
# `workers_allowed` applies to every test here: threads other tests left running must not turn these
# tests serial (tests below that mean otherwise patch `active_count` again).
_workers_allowed, _small_batches = audit_helpers.workers_allowed, audit_helpers.small_batches


def serial(path: Path) -> list[tuple[str, int | None, Any]]:
    return [(o.where, o.line, o.object) for o in read_sources([str(path)])]


def split(path: Path) -> tuple[list[tuple[str, int | None, Any]], int]:
    """What the split path reads, with each deferred item parsed as a worker parses it."""
    out, deferred = [], 0
    for o in read_sources([str(path)], split=True):
        obj, line = o.object, o.line
        if type(obj) is DeferredItem:
            deferred += 1
            obj, line = obj.parse()
        out.append((o.where, line, obj))
    return out, deferred


def same_as_serial(path: Path, *, deferred: bool = True) -> None:
    got, count = split(path)
    assert got == serial(path)
    assert (count > 0) is deferred


def kubectl_list(items: list[Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def fixture_objects() -> list[Any]:
    objects = []
    for sample in sorted(ADMISSION.glob("*.json")):
        review = json.loads(sample.read_text())
        request = review.get("request") or {}
        for key in ("object", "oldObject"):
            if isinstance(request.get(key), dict):
                objects.append(request[key])
    return objects


class _NoAliases(yaml.SafeDumper):
    """Objects shared by the generated dump written out each time (not as anchors and aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(objects: list[Any]) -> str:
    return yaml.dump(kubectl_list(objects), Dumper=_NoAliases, sort_keys=False)


class _Indented(yaml.SafeDumper):
    """`items:\n  - a: 1`: sequences indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


@pytest.mark.parametrize("style", ["kubectl", "indented"])
def test_fixtures_read_the_same(tmp_path: Path, style: str) -> None:
    objects = fixture_objects()
    assert len(objects) > 10
    dumper = _Indented if style == "indented" else yaml.SafeDumper
    path = tmp_path / "list.yaml"
    path.write_text(yaml.dump(kubectl_list(objects), Dumper=dumper, sort_keys=False, allow_unicode=True))
    same_as_serial(path)
    if style == "indented":
        assert "items:\n  - " in path.read_text()


def test_generated_dumps_read_the_same(tmp_path: Path) -> None:
    same_as_serial(write_dumps(tmp_path, 300)["yaml"])
    path = tmp_path / "cluster.yaml"
    path.write_text(dump(generated_dump(40)))
    same_as_serial(path)
    path.write_text(yaml.safe_dump(kubectl_list(generated_dump(40)), sort_keys=False))
    assert "&id001" in path.read_text()
    same_as_serial(path, deferred=False)  # anchors and aliases: read serially


def test_a_file_larger_than_the_cap_streams_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A split file is held whole as text: past the cap it streams, so memory stays bounded.
    path = write_dumps(tmp_path, 50)["yaml"]
    monkeypatch.setattr(stream, "SPLIT_MAX_BYTES", path.stat().st_size - 1)
    same_as_serial(path, deferred=False)
    monkeypatch.setattr(stream, "SPLIT_MAX_BYTES", path.stat().st_size)
    same_as_serial(path)


BLOCK_SCALARS = """\
apiVersion: v1
items:
# a comment at column 0 before the first item
- kind: Pod
  metadata:
    name: a
    annotations:
      literal: |
        - not an item
        -
      folded: >
        - nor this
         - nor this

      kept: |+
          - indented more

# a comment at column 0 inside an item
  spec: {}
-
  kind: Pod
  metadata: {name: b}
- kind: ConfigMap
  data:
    script: |-
      #!/bin/sh
      - x
    quoted: "one line"
    schedule: '*/5 * * * *'
    text: a & b * c
    single: 'it''s'
kind: List
metadata: {}
"""


def test_block_scalars_comments_and_shapes_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(BLOCK_SCALARS)
    same_as_serial(path)
    cut = split_list(BLOCK_SCALARS)
    assert cut is not None and [line for line, _ in pieces(BLOCK_SCALARS, cut[0])] == [4, 20, 23]
    indented = BLOCK_SCALARS.replace("\n", "\n  ").replace("\n  items:", "\nitems:")
    indented = "\n".join(
        line[2:]
        if line.startswith("  ") and line[2:3] != " " and not line[2:].startswith(("-", "#"))
        else line
        for line in indented.split("\n")
    )
    path.write_text(indented)
    same_as_serial(path)


@pytest.mark.parametrize(
    "text",
    [
        "items:\n- a: 1\n\tb: 2\n",  # a tab in indentation
        "items:\n- &x {a: 1}\n- *x\n",  # anchors, aliases
        "items:\n- a: &x 1\n  b: *x\n",  # anchors, aliases as values
        "items:\n- a: !!str &x 1\n",  # an anchor after a tag
        "items:\n- <<: {a: 1}\n  b: 2\n",  # merge keys
        "%YAML 1.1\n---\nitems:\n- a: 1\n",  # directives
        "items:\n- a: 1\n---\nitems:\n- b: 2\n",  # two documents
        "items: [{a: 1}]\n",  # flow
        "items:\r\n- a: 1\r\n",  # other line breaks
        "!!map\nitems:\n- a: 1\n",  # a tag on the root
        "{kind: List,\nitems:\n- kind: Pod\n  metadata: {name: a}\n}\n",  # a flow root: invalid serially
        "kind: List\nitems:\n  a: 1\n",  # not a sequence
        "items:\n  - a: 1\n b: 2\n",  # a line less indented than the sequence
    ],
)
def test_unsure_shapes_are_not_split(tmp_path: Path, text: str) -> None:
    assert split_list(text) is None
    path = tmp_path / "list.yaml"
    path.write_text(text)

    def outcome(split: bool) -> Any:
        try:
            return [(o.where, o.line, o.object) for o in read_sources([str(path)], split=split)]
        except InputError as exc:
            return str(exc)

    assert outcome(True) == outcome(False)


def test_namespaces_are_parsed_here(tmp_path: Path) -> None:
    """A Namespace's labels apply to the items after it: it is read by this process, never deferred."""
    path = tmp_path / "list.yaml"
    path.write_text(dump(generated_dump(12)))
    for o in read_sources([str(path)], split=True):
        if type(o.object) is not DeferredItem:
            assert "Namespace" in yaml.safe_dump(o.object)
        else:
            assert o.object.parse()[0]["kind"] != "Namespace"
    same_as_serial(path)


def test_a_cut_inside_a_quoted_scalar_is_caught(tmp_path: Path) -> None:
    """libyaml lets a quoted scalar's next line start at any column: `- b"` is not an item there."""
    text = 'kind: List\nitems:\n- kind: Pod\n  metadata:\n    name: "a\n- b"\n'
    assert yaml.safe_load(text)["items"] == [{"kind": "Pod", "metadata": {"name": "a - b"}}]
    path = tmp_path / "list.yaml"
    path.write_text(text)
    with pytest.raises(SplitUnsound):
        for o in read_sources([str(path)], split=True):
            if type(o.object) is DeferredItem:
                o.object.parse()


def audit_report(tmp_path: Path, path: Path, jobs: str, capsys: pytest.CaptureFixture[str]) -> Any:
    out = tmp_path / f"report-{jobs}.json"
    args = ["audit", "-o", "json", "--fail-on", "never", "--jobs", jobs, "--output-file", str(out)]
    code = main([*args, str(path)])
    if code != 0:
        return code, capsys.readouterr().err
    report = json.loads(out.read_text())
    report.pop("integrity")
    for volatile in ("startedAt", "finishedAt"):
        report["evidence"].pop(volatile)
    report["summary"].pop("durationSeconds")
    return report


def test_audit_with_workers_gives_the_serial_report(
    tmp_path: Path, small_batches: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(dump(generated_dump(50)))
    report = audit_report(tmp_path, path, "2", capsys)
    assert report == audit_report(tmp_path, path, "1", capsys)
    assert report["results"] and report["summary"]["skippedKinds"]


@pytest.mark.parametrize(
    "bad",
    [
        "  metadata: {name: x, name: y}\n",  # a duplicate key
        "  metadata:\n    name: [unclosed\n",  # a syntax error
        "  metadata:\n    name: x\n     oops: 1\n",  # bad indentation
        "  metadata:\n    name: 'a\n- b'\n",  # a quoted scalar over an item line: no error at all
        "  metadata: 7\n",  # not a Kubernetes object
    ],
)
def test_errors_and_misreads_give_the_serial_outcome(
    tmp_path: Path, small_batches: None, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    good = dump(generated_dump(15))
    head, items = good.split("items:\n", 1)
    at = items.index("\n- ", len(items) // 2) + 1
    text = head + "items:\n" + items[:at] + "- kind: Pod\n" + bad + items[at:]
    path = tmp_path / "list.yaml"
    path.write_text(text)
    serially = audit_report(tmp_path, path, "1", capsys)
    assert audit_report(tmp_path, path, "2", capsys) == serially
    if isinstance(serially, tuple):
        assert ": document 0: items[" in serially[1]


def test_bytes_that_are_not_utf8_give_the_serial_error(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_bytes(b"kind: List\nitems:\n- kind: Pod\n  metadata: {name: \xff}\n")
    errors = []
    for split_it in (True, False):
        with pytest.raises(InputError) as caught:
            list(read_sources([str(path)], split=split_it))
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "not UTF-8" in errors[0]


def test_the_digest_covers_every_byte_when_split(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(dump(generated_dump(5)))
    digests: dict[bool, Any] = {}
    for split_it in (True, False):
        found: list[Any] = []
        list(read_sources([str(path)], split=split_it, digests=found))
        digests[split_it] = [(d.sha256, d.bytes) for d in found]
    assert digests[True] == digests[False] and digests[True][0][1] == path.stat().st_size
