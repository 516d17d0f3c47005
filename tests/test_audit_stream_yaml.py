"""The YAML reader of the audit builds each List item from the C parser's events: the same objects as the
strict loader (`yaml.load(..., Loader=StrictLoader)`), checked over every fixture, generated kubectl-style
dumps, and YAML 1.1's tricky plain scalars; and errors that still name the item and the line.
"""

from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from audit_helpers import bench_audit
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.audit.stream import read_sources
from webhook.inputs import InputError
from webhook.policy.yamlio import StrictLoader

ROOT = Path(__file__).resolve().parent.parent


make_pod = bench_audit().make_pod


def _read(text: str) -> list[Any]:
    return [o.object for o in read_sources(["-"], stdin=io.BytesIO(text.encode()))]


def _strict(text: str) -> list[Any]:
    """What the reader must give: every document loaded strictly, a List's items one by one."""
    out: list[Any] = []
    for document in yaml.load_all(text, Loader=StrictLoader):
        if isinstance(document, dict) and isinstance(document.get("items"), list):
            out += document["items"]
        elif document is not None:
            out.append(document)
    return out


def _fixtures() -> list[Path]:
    places = [ROOT / "tests" / "fixtures", ROOT / "policies", ROOT.parent / "shared" / "fixtures"]
    return sorted(p for place in places if place.is_dir() for p in place.rglob("*.y*ml"))


def test_every_fixture_reads_as_the_strict_loader_reads_it() -> None:
    compared = 0
    for path in _fixtures():
        text = path.read_text(encoding="utf-8")
        try:
            want = _strict(text)
        except yaml.YAMLError:
            with pytest.raises(InputError):
                _read(text)
            continue
        assert [o for o in _read(text) if o is not None] == want, path
        compared += 1
    assert compared > 50


def _kubectl_pod(rng: random.Random, i: int) -> dict[str, Any]:
    pod = make_pod(i)
    meta = pod["metadata"]
    meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(make_pod(i)) + "\n"
    meta["annotations"]["note"] = rng.choice(
        ["yes", "on", "0755", "1:30", "", "multi\nline\n", "é 😀", "a: b"]
    )
    pod["spec"]["containers"][0]["args"] = [rng.choice(["--x=1", "- dash", "#hash", "'q'", '"dq"', "*star"])]
    pod["status"]["startTime"] = "2026-11-30T10:00:00Z"
    return pod


@pytest.mark.parametrize("style", ["block", "flow", "kubectl"])
def test_generated_dumps_read_as_the_strict_loader_reads_them(style: str) -> None:
    rng = random.Random(style)
    pods = [_kubectl_pod(rng, i) for i in range(60)]
    listing = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": pods}
    if style == "kubectl":  # kubectl's layout: keys sorted, `items` at column 0, indented blocks
        text = yaml.safe_dump(listing, sort_keys=True, indent=2, width=60, allow_unicode=True)
    else:
        text = yaml.safe_dump(listing, default_flow_style=style == "flow", allow_unicode=True)
    assert _read(text) == _strict(text) == pods


# Plain scalars whose type YAML 1.1 (as PyYAML and Kubernetes' YAML reader see it) decides by their text.
PLAIN = [
    "yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "Null", "", "0", "-0", "+12", "0755",
    "0o17", "0x1F", "0b101", "1_000", "1:30", "190:20:30", "1.5", "-.5", ".inf", "-.Inf", ".nan", "1e3",
    "1.0e+3", "6.8523015e+5", "2026-01-01", "2026-01-01T10:00:00Z", "100m", "1Gi", "v1.2", "=", "a b",
    "8080", "09", "0.", "'", "x'y", "Ñandú",
]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*PLAIN[:-4], "key", "k2", "1", "true"]),
            st.sampled_from(PLAIN),
            st.sampled_from(["plain", "single", "double", "flow"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_plain_scalars_resolve_as_the_strict_loader_resolves_them(pairs: list[tuple[str, str, str]]) -> None:
    lines = []
    for key, value, style in pairs:
        key = key or "empty"
        if style == "single":
            value = "'" + value.replace("'", "''") + "'"
        elif style == "double":
            value = json.dumps(value, ensure_ascii=False)
        elif style == "flow":
            value = f"[{value}]" if value and value not in ("'", "x'y") and "," not in value else "[]"
        elif value in ("'", "x'y"):
            value = "plain"
        lines.append(f"  {key}: {value}")
    text = "kind: List\nitems:\n- kind: Pod\n" + "\n".join(lines) + "\n- second\n"
    try:
        want = _strict(text)
    except yaml.YAMLError:
        with pytest.raises(InputError):
            _read(text)
        return
    got = _read(text)
    assert got == want
    assert [type(v) for v in got[0].values()] == [type(v) for v in want[0].values()]  # 1 is not True


def test_anchors_live_across_the_items_of_a_document() -> None:
    text = (
        "kind: List\nmetadata: &m {resourceVersion: ''}\nitems:\n"
        "- &first {kind: Pod, metadata: {name: a, labels: &l {app: x}}}\n"
        "- {kind: Pod, metadata: {name: b, labels: *l}, spec: *m}\n"
        "- *first\n"
    )
    found = _read(text)
    assert found == _strict(text)
    assert found[1]["metadata"]["labels"] is found[0]["metadata"]["labels"]  # shared, as PyYAML shares them
    assert found[2] is found[0]


def test_an_anchored_or_tagged_items_list_is_read_whole_as_the_document() -> None:
    for text in ("kind: List\nitems: &i\n- a\n- b\n", "kind: List\nitems: !!seq\n- a\n"):
        (document,) = _read(text)
        assert document == yaml.load(text, Loader=StrictLoader)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kind: List\nitems:\n- kind: Pod\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n      env:\n"
            "      - {name: X, value: '1', name: Y}\n",
            "document 0: items[1]: invalid YAML at line 9, column 31: duplicate key 'name'",
        ),
        ("kind: List\nitems:\n- a: {[1]: x}\n", "items[0]: invalid YAML at line 3, column 7: unhashable key [1]"),
        ("kind: List\nitems:\n- !!set {a}\n", "items[0]: invalid YAML at line 3, column 3: could not determine a constructor for the tag 'tag:yaml.org,2002:set'"),
        ("kind: List\nitems:\n- {a: *nope}\n", "items[0]: invalid YAML at line 3, column 7: found undefined alias 'nope'"),
        ("kind: List\nitems:\n- {a: !!int x}\n", "items[0]: invalid YAML at line 3, column 7: 'x' is not a valid tag:yaml.org,2002:int"),
        ("kind: List\nitems:\n- {<<: 1}\n", "items[0]: invalid YAML at line 3, column 4: expected a mapping or list of mappings for merging"),
        ("kind: List\nitems: []\nitems: []\n", "document 0: duplicate key 'items'"),
        ("kind: List\nitems: []\nkind: List\n", "document 0: invalid YAML at line 3, column 1: duplicate key 'kind'"),
        ("a: 1\n---\nkind: List\nitems:\n- x\n- [\n", "document 1: items[1]: invalid YAML at line 7"),
    ],
)  # fmt: skip
def test_malformed_yaml_is_reported_precisely(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        _read(text)
    assert message in str(info.value)


def test_merge_keys_quoted_and_plain() -> None:
    text = "kind: List\nitems:\n- base: &b {x: 1, y: 2}\n  m: {<<: *b, y: 3}\n  q: {'<<': 1, x: 2}\n"
    (found,) = _read(text)
    assert found["m"] == {"x": 1, "y": 3}  # an explicit key overrides a merged one
    assert found["q"] == {"<<": 1, "x": 2}  # a quoted `<<` is an ordinary key


def test_nesting_beyond_the_readers_depth_is_an_input_error() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        with pytest.raises(InputError, match=r"items\[0\]: invalid YAML: nested too deeply"):
            _read("kind: List\nitems:\n- " + "[" * 400 + "]" * 400 + "\n")
    finally:
        sys.setrecursionlimit(limit)
    assert _read("kind: List\nitems:\n- " + "{a: " * 500 + "1" + "}" * 500 + "\n")[0]["a"]["a"]["a"]
