"""Manifests and dumps are read object by object: JSON item by item through the stdlib scanner, YAML
through parser events."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml
from audit_helpers import bad_pod, good_pod
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.audit.stream import Located, SourceDigest, read_sources
from webhook.inputs import InputError


def _listing(n: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [good_pod(f"p{i}") for i in range(n)],
    }


def _names(found: list[Located]) -> list[str]:
    return [o.object["metadata"]["name"] for o in found]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_list_items_are_streamed_with_their_position(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"dump{suffix}"
    data = _listing(3)
    path.write_text(json.dumps(data, indent=2) if suffix == ".json" else yaml.safe_dump(data))
    found = list(read_sources([str(path)]))
    assert _names(found) == ["p0", "p1", "p2"]
    assert [(o.document, o.item) for o in found] == [(0, 0), (0, 1), (0, 2)]
    assert found[2].where == f"{path}: document 0: items[2]"
    assert found[0].object == data["items"][0]  # built exactly as json.load / yaml.safe_load would


def test_yaml_multi_document_lists_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(
        "---\n" + yaml.safe_dump(bad_pod("a")) + "---\n---\n" + yaml.safe_dump(_listing(2)) + "---\n"
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {when: 2026-01-01T00:00:00Z}\n"
    )
    found = list(read_sources([str(path)]))
    assert [(o.document, o.item) for o in found] == [(0, None), (2, 0), (2, 1), (3, None)]
    assert found[0].line == 2 and found[1].line is not None and found[1].line > found[0].line
    assert found[3].object["data"]["when"] == "2026-01-01T00:00:00Z"  # timestamps stay strings


def test_yaml_anchors_and_aliases_inside_items(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "kind: List\nitems:\n- &p {kind: Pod, metadata: {name: a}, spec: {containers: []}}\n- *p\n"
        "- kind: Pod\n  metadata: {name: b, labels: &l {app: x}}\n  spec: {containers: []}\n"
        "- {kind: Pod, metadata: {name: c, labels: *l}}\n"
    )
    found = list(read_sources([str(path)]))
    assert _names(found) == ["a", "a", "b", "c"]
    assert found[3].object["metadata"]["labels"] == {"app": "x"}


def test_concatenated_json_documents_and_a_plain_object(tmp_path: Path) -> None:
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(bad_pod("x")) + "\n" + json.dumps(_listing(2)) + "\n")
    found = list(read_sources([str(path)]))
    assert [(o.document, o.item) for o in found] == [(0, None), (1, 0), (1, 1)]


def test_stdin_json_and_yaml_are_sniffed() -> None:
    (one,) = read_sources(["-"], stdin=io.BytesIO(json.dumps(bad_pod("j")).encode()))
    assert one.source == "-" and one.object["metadata"]["name"] == "j"
    (two,) = read_sources(["-"], stdin=io.BytesIO(yaml.safe_dump(bad_pod("y")).encode()))
    assert two.object["metadata"]["name"] == "y"


def test_directories_are_walked_and_every_source_is_hashed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(bad_pod("a")))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(json.dumps(_listing(2)) + "\n\n   \n")
    (tmp_path / "notes.txt").write_text("not a manifest")
    digests: list[SourceDigest] = []
    found = list(read_sources([str(tmp_path)], digests=digests))
    assert _names(found) == ["a", "p0", "p1"]
    for digest in digests:
        content = Path(digest.source).read_bytes()
        assert digest.sha256 == hashlib.sha256(content).hexdigest() and digest.bytes == len(content)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.json",
            '{"kind": "List", "items": [{"kind": "Pod"}, {"kind": ]}',
            "document 0: items[1]: invalid JSON",
        ),
        ("trunc.json", '{"kind": "Pod", "metadata": {"name": "x"', "document 0: invalid JSON"),
        ("dup.json", '{"kind": "Pod", "kind": "Pod"}', "duplicate key 'kind'"),
        (
            "dupitem.json",
            '{"kind": "List", "items": [{"a": 1, "a": 2}]}',
            "items[0]: invalid JSON: duplicate key 'a'",
        ),
        (
            "notlist.json",
            '{"kind": "Pod", "items": []}',
            "document 0: has an `items` list but kind 'Pod' is not a List",
        ),
        (
            "bad.yaml",
            "kind: List\nitems:\n- kind: Pod\n- kind: [Pod\n",
            "document 0: items[1]: invalid YAML at line",
        ),
        ("dup.yaml", "kind: List\nitems:\n- {kind: Pod, kind: Pod}\n", "items[0]: invalid YAML at line 3"),
        ("two.yaml", "kind: Pod\n---\nkind: [x\n", "document 1: invalid YAML at line"),
        ("alias.yaml", "kind: List\nitems:\n- *nope\n", "found undefined alias"),
        (
            "big.json",
            '{"kind": "Pod", "n": 9223372036854775808}',
            "document 0: invalid JSON: parse error: integer overflow",
        ),
        ("latin1.yaml", b"kind: Pod\nname: caf\xe9\n", "not UTF-8 text"),
    ],
)
def test_malformed_input_names_file_document_and_item(
    tmp_path: Path, name: str, text: str | bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError) as info:
        list(read_sources([str(path)]))
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        list(read_sources([str(tmp_path / "nope.json")]))


ITEM = """\
- kind: Pod
  metadata:
    name: x
    annotations: {a: "1", b: '2', c: 0x1F, d: 1.5e3, e: .inf, f: ~, g: null, h: yes, i: "true", j: 2026-01-01}
    labels: &labels {app: web, tier: "007"}
  spec:
    base: &base {cpu: 100m, replicas: 3}
    limits: {<<: *base, cpu: 200m}
    both: {<<: [*base, {memory: 1Gi, cpu: 1}]}
    selector: *labels
    script: |
      echo "hi"
      exit 0
    folded: >
      one
      two
    tagged: [!!str 12, !!int "12", !!float "1", !!binary aGk=]
    empty: []
    nested: [[1, [2, {k: v}]], {}]
"""


def test_items_are_built_with_the_strict_loaders_types(tmp_path: Path) -> None:
    from webhook.policy.yamlio import StrictLoader

    path = tmp_path / "types.yaml"
    path.write_text("kind: List\nitems:\n" + ITEM)
    (found,) = read_sources([str(path)])
    expected = yaml.load(ITEM, Loader=yaml.SafeLoader)[0]  # merges with overrides, as YAML means them
    expected["metadata"]["annotations"]["j"] = "2026-01-01"  # timestamps stay strings, as in StrictLoader
    expected["spec"]["both"]["cpu"] = (
        "100m"  # the YAML spec: earlier merged mappings win (PyYAML gets it backwards)
    )
    assert found.object == expected
    assert found.object["spec"]["limits"] == {"cpu": "200m", "replicas": 3}
    assert found.object["spec"]["both"] == {"cpu": "100m", "replicas": 3, "memory": "1Gi"}
    no_merges = ITEM.replace("    limits: {<<: *base, cpu: 200m}\n", "").replace(
        "    both: {<<: [*base, {memory: 1Gi, cpu: 1}]}\n", ""
    )
    path.write_text("kind: List\nitems:\n" + no_merges)
    (found,) = read_sources([str(path)])
    assert found.object == yaml.load(no_merges, Loader=StrictLoader)[0]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63) + 1, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=5), max_size=4))
def test_streamed_items_equal_what_pyyaml_and_json_load(items: list[dict]) -> None:
    listing = {"kind": "List", "items": items}
    for text in (
        yaml.safe_dump(listing),
        yaml.safe_dump(listing, default_flow_style=True),
        json.dumps(listing),
    ):
        found = list(read_sources(["-"], stdin=io.BytesIO(text.encode())))
        assert [o.object for o in found] == items


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_items_come_out_before_the_rest_of_the_dump_is_read(tmp_path: Path, suffix: str) -> None:
    """Streaming, observably: the first item is judged before a fault far later in the file is reached."""
    data = _listing(400)
    text = json.dumps(data) if suffix == ".json" else yaml.safe_dump(data)
    path = tmp_path / f"dump{suffix}"
    cut = text.index("\n- ", len(text) * 3 // 4) + 1 if suffix == ".yaml" else len(text) * 3 // 4
    path.write_text(text[:cut] + ("- {broken: [\n" if suffix == ".yaml" else ""))  # a fault 3/4 of the way in
    objects = read_sources([str(path)])
    assert next(objects).object["metadata"]["name"] == "p0"
    with pytest.raises(InputError, match=r"document 0: items\[3\d\d\]"):
        list(objects)
