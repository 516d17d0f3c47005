"""The JSON reader of the audit: the top level walked by hand, every value decoded by the C scanner.

What it must keep from a whole-document `json.loads` with duplicate detection, wherever the chunks of the
input happen to end: the same values, the same strictness, and errors that name the item and the line.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import bench_audit
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.audit.stream import Located, SourceDigest, json_objects, read_sources
from webhook.inputs import InputError

make_pod = bench_audit().make_pod


class Cut(io.RawIOBase):
    """A stream whose first read stops after `first` bytes, and whose reads are counted."""

    def __init__(self, data: bytes, first: int) -> None:
        self.data, self.first, self.at, self.reads = data, first, 0, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        size = len(self.data) if size < 0 else size
        if self.at == 0:
            size = min(size, self.first)
        chunk = self.data[self.at : self.at + size]
        self.at += len(chunk)
        return chunk


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    assert len(mapping) == len(pairs), "duplicate key"
    return mapping


def expected(text: str) -> list[tuple[int, int | None, Any]]:
    """What the reader must give: json.loads of each document (strict), List items one by one."""
    decoder = json.JSONDecoder(object_pairs_hook=_strict_pairs)
    out: list[tuple[int, int | None, Any]] = []
    pos, document = 0, 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos == len(text):
            return out
        value, pos = decoder.raw_decode(text, pos)
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            out += [(document, i, item) for i, item in enumerate(value["items"])]
        else:
            out.append((document, None, value))
        document += 1


def read(data: bytes, *, first: int | None = None, chunk: int = 16) -> list[tuple[int, int | None, Any]]:
    stream = Cut(data, len(data) if first is None else first)
    return [(o.document, o.item, o.object) for o in json_objects(stream, "s.json", chunk=chunk)]  # type: ignore[arg-type]


TRICKY = {
    "apiVersion": "v1",
    "kind": "List",
    "metadata": {"resourceVersion": "", "note": 'quote " backslash \\ slash / tab \t nl \n'},
    "items": [
        {"kind": "Pod", "metadata": {"name": "caf\u00e9-\U0001f600", "labels": {"e\u0301": "\u2028"}}},
        {"n": [0, -1, 12345678901234, 1.5, -2.5e-3, 1e10, True, False, None], "s": "", "o": {}, "a": []},
        {"deep": [[[{"x": [{"y": "\\u0041 is not an escape here"}]}]]]},
        "a string item",
        42,
    ],
}


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["escaped", "utf8"])
def test_every_chunk_boundary_gives_the_same_objects(ensure_ascii: bool) -> None:
    """A read may end anywhere: inside a key, a string, an escape, a UTF-8 sequence, a number, a literal."""
    text = json.dumps(TRICKY, ensure_ascii=ensure_ascii, indent=1) + "\n" + json.dumps(TRICKY["items"][1])
    data = text.encode()
    want = expected(text)
    assert len(want) == 6
    for first in range(1, len(data)):
        assert read(data, first=first) == want, first


def test_an_item_larger_than_a_chunk_is_read_in_linear_time() -> None:
    big = {
        "kind": "Pod",
        "metadata": {"name": "big", "annotations": {f"k{i}": "v" * 50 for i in range(2000)}},
    }
    data = json.dumps({"kind": "List", "items": [{"kind": "Pod"}, big, {"kind": "Pod"}]}).encode()
    stream = Cut(data, len(data))
    found = [o.object for o in json_objects(stream, "big.json", chunk=64)]  # type: ignore[arg-type]
    assert found == [{"kind": "Pod"}, big, {"kind": "Pod"}]
    # 120 KB in chunks of 64 bytes: reading doubles what is held, so about log2(120K / 64) reads, not 1,900
    assert stream.reads < 25


def test_concatenated_documents_of_every_shape() -> None:
    text = '{"a": 1}{"kind": "PodList", "items": [{"b": 2}]}\n[1, {"c": 3}] "s" 3 -0.5 true null {} \n'
    found = read(text.encode(), chunk=4)
    assert found == expected(text)
    assert found[0] == (0, None, {"a": 1}) and found[1] == (1, 0, {"b": 2}) and found[-1] == (8, None, {})


def test_a_top_level_number_cut_by_a_read_is_not_split() -> None:
    assert read(b"12345 678", first=3, chunk=1) == [(0, None, 12345), (1, None, 678)]


def test_a_byte_order_mark_is_skipped() -> None:
    (found,) = read(b"\xef\xbb\xbf" + json.dumps({"kind": "Pod"}).encode(), first=2)
    assert found == (0, None, {"kind": "Pod"})


def _error(data: bytes, **kw: Any) -> str:
    with pytest.raises(InputError) as info:
        read(data, **kw)
    return str(info.value)


@pytest.mark.parametrize("first", [3, 40, 1000])
def test_a_duplicate_key_deep_inside_an_item_names_the_item_and_its_line(first: int) -> None:
    text = '{"kind": "List",\n "items": [\n  {"kind": "Pod"},\n  {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "name": "Y"}]}]}}\n]}'
    message = _error(text.encode(), first=first)
    assert message == (
        "s.json: document 0: items[1]: invalid JSON: duplicate key 'name' (in the value at line 4, column 3)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "Pod", "kind": "Pod"}', "document 0: duplicate key 'kind'"),
        ('{"a": {"b": 1, "b": 2}}', "document 0: invalid JSON: duplicate key 'b' (in the value at line 1"),
        ('{"kind": "List", "items": [], "items": []}', "document 0: duplicate key 'items'"),
        (
            '{"kind": "List", "items": [1 2]}',
            "items[1]: invalid JSON: Expecting ',' delimiter at line 1, column 30",
        ),
        ('{"kind": "List", "items": [1,]}', "items[1]: invalid JSON: Expecting value at line 1, column 30"),
        (
            '{"a": 1,}',
            "document 0: invalid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        ('{"a" 1}', "document 0: invalid JSON: Expecting ':' delimiter at line 1, column 6"),
        ("{'a': 1}", "document 0: invalid JSON: Expecting property name enclosed in double quotes"),
        ('{"a": NaN}', "invalid JSON: NaN is not JSON"),
        (
            '{"a": [1.5, -1e400]}',
            "invalid JSON: number out of range (-1e400) (in the value at line 1, column 7)",
        ),
        ('{"a": -Infinity}', "invalid JSON: -Infinity is not JSON"),
        (
            '{"a": 9223372036854775807} {"b": -9223372036854775809}',
            "document 1: invalid JSON: parse error: integer overflow",
        ),
        ('{"a": "tab\there"}', "invalid JSON: Invalid control character at line 1, column 11"),
        ('{"a": "\\x"}', "invalid JSON: Invalid \\escape"),
        (
            '\n\n{"kind": "List", "items": [\n{"a": tru}]}',
            "items[0]: invalid JSON: Expecting value at line 4, column 7",
        ),
        ('{"a": "unterminated', "document 0: invalid JSON: Unterminated string starting at line 1, column 7"),
    ],
)
def test_malformed_json_is_reported_precisely(text: str, message: str) -> None:
    for first in (1, 7, len(text)):
        assert message in _error(text.encode(), first=first, chunk=5)


def test_every_truncation_is_an_error_after_the_complete_items() -> None:
    items = [make_pod(0), *TRICKY["items"][:4]]  # type: ignore[misc]  (a number item cut at the end is complete)
    text = json.dumps({"kind": "List", "items": items, "metadata": {}}, separators=(",", ":"))
    data = text.encode()
    full = expected(text)
    for cut in range(1, len(data) - 1):
        stream = Cut(data[:cut], cut)
        seen: list[Any] = []
        with pytest.raises(InputError, match=r"^s\.json: document 0(: items\[\d\])?: invalid JSON: ") as info:
            for found in json_objects(stream, "s.json", chunk=64):  # type: ignore[arg-type]
                seen.append(found.object)
        assert seen == [obj for _, _, obj in full[: len(seen)]], cut
        assert " at line " in str(info.value) or " (in the value at line " in str(info.value)


def test_bytes_that_are_not_utf8_are_named_by_offset(tmp_path: Path) -> None:
    data = json.dumps({"kind": "List", "items": [make_pod(i) for i in range(3)]}).encode()
    at = len(data) // 2
    broken = data[:at] + b"\xe9" + data[at + 1 :]
    assert _error(broken, first=100, chunk=50).endswith(f"not UTF-8 text (byte {at})")
    assert _error(data[:-1] + b"\xc3", chunk=7).endswith(f"not UTF-8 text (byte {len(data) - 1})")


def test_a_large_dump_is_hashed_whole_and_read_item_by_item(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    pods = [make_pod(i) for i in range(400)]  # ~2 MB: more than one read of the reader
    path.write_text(json.dumps({"kind": "List", "items": pods}, indent=4) + "\n\n")
    digests: list[SourceDigest] = []
    found: list[Located] = list(read_sources([str(path)], digests=digests))
    assert [o.object for o in found] == pods and [o.item for o in found] == list(range(400))
    import hashlib

    assert digests == [
        SourceDigest(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    ]


def _varied_pod(rng: random.Random, i: int) -> dict[str, Any]:
    pod = make_pod(i)
    pod["metadata"]["annotations"]["note"] = "".join(
        rng.choice('ab"\\/\n\t\u00e9\U0001f600 ') for _ in range(30)
    )
    pod["spec"]["priority"] = rng.choice([0, -(2**63), 2**63 - 1, 1.25, None, True])
    if rng.random() < 0.3:
        pod["spec"]["containers"].append({"name": f"extra-{i}", "args": ["x" * rng.randrange(5000)]})
    return pod


def test_differential_generated_dumps_match_json_loads() -> None:
    rng = random.Random(5)
    for round_ in range(6):
        pods = [_varied_pod(rng, i) for i in range(rng.randrange(1, 60))]
        listing = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": pods}
        text = json.dumps(listing, indent=rng.choice([None, 2, 4]), ensure_ascii=rng.random() < 0.5)
        text += "\n" + json.dumps(pods[0])  # and a second document after the List
        data = text.encode()
        for chunk in (rng.randrange(1, 200), rng.randrange(200, 70_000)):
            assert read(data, first=rng.randrange(1, len(data)), chunk=chunk) == expected(text), (
                round_,
                chunk,
            )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None)
@given(
    documents=st.lists(
        json_values
        | st.fixed_dictionaries({"kind": st.just("List"), "items": st.lists(json_values, max_size=5)}),
        min_size=1,
        max_size=4,
    ),
    indent=st.sampled_from([None, 0, 1]),
    first=st.integers(1, 400),
    chunk=st.integers(1, 64),
)
def test_any_json_reads_as_json_loads_does(
    documents: list[Any], indent: int | None, first: int, chunk: int
) -> None:
    text = " ".join(json.dumps(d, indent=indent) for d in documents)
    assert read(text.encode(), first=first, chunk=chunk) == expected(text)


def test_unpaired_surrogate_escapes_become_the_replacement_character_as_go_decodes_them() -> None:
    text = (
        r'{"kind": "List", "items": [{"a": "\ud800x", "\uDC00": ["\ud83d\ude00", "\udfff"]}], "m": "\udbff"}'
    )
    assert read(text.encode(), first=40, chunk=3) == [
        (0, 0, {"a": "\ufffdx", "\ufffd": ["\U0001f600", "\ufffd"]})
    ]
    (found,) = read(b'{"\\ud800": 1}')
    assert found[2] == {"\ufffd": 1}
    json.dumps(found[2], ensure_ascii=False).encode()  # writable as UTF-8, which a lone surrogate is not


def test_unpaired_surrogates_are_replaced_wherever_a_read_ends() -> None:
    data = rb'{"kind": "List", "items": [{"a": "x\ud800y"}, {"\udc00": ["\ud83d\ude00"]}, "plain"]}'
    want = [(0, 0, {"a": "x\ufffdy"}), (0, 1, {"\ufffd": ["\U0001f600"]}), (0, 2, "plain")]
    for first in range(1, len(data)):
        for chunk in (1, 5):
            assert read(data, first=first, chunk=chunk) == want, (first, chunk)
