"""The fast strict YAML path (yamlio: direct node walk, cached resolver) against the generic one.

The generic loader below is StrictLoader exactly as it was before the fast path: PyYAML's own
construct_document, resolve and path-resolver hooks, with the strict duplicate-key constructor. Both must
give the same objects (same types: `yes` is True, `0755` is 493, timestamps stay strings) and the same
errors, on generated documents and on every YAML file the repository ships.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.policy import yamlio
from webhook.policy.yamlio import StrictLoader

ROOT = Path(__file__).resolve().parent.parent


class GenericStrictLoader(StrictLoader):  # type: ignore[misc]
    construct_document = yamlio._generic_construct_document
    resolve = yaml.resolver.BaseResolver.resolve
    descend_resolver = yaml.resolver.BaseResolver.descend_resolver
    ascend_resolver = yaml.resolver.BaseResolver.ascend_resolver


def typed(value: Any, path: tuple[int, ...] = ()) -> Any:
    """A structure equal only when types match too (True != 1 here, NaN == NaN, cycles marked)."""
    if isinstance(value, (dict, list)) and id(value) in path:
        return ("cycle", path.index(id(value)))
    inner = (*path, id(value))
    if isinstance(value, dict):
        return ("dict", [(typed(k, inner), typed(v, inner)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v, inner) for v in value])
    if isinstance(value, (set, frozenset)):
        return ("set", sorted(repr(typed(v)) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(text: str, loader: Any) -> Any:
    try:
        return ("ok", [typed(document) for document in yaml.load_all(text, Loader=loader)])
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))


def assert_same(text: str) -> None:
    assert outcome(text, StrictLoader) == outcome(text, GenericStrictLoader), text


# YAML 1.1 scalars as sigs.k8s.io/yaml reads them, and the constructs the fast path hands back.
SCALARS = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "False",
    "~",
    "null",
    "",
    "0755",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "-0",
    "+12",
    "3.5",
    ".nan",
    "-.inf",
    "1e3",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "'yes'",
    '"0755"',
    "!!str 1",
    "!!int '7'",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1]",
    "!unknown x",
    "!!float 1",
    "[a, [b]]",
    "{}",
    "[]",
    "'a: b'",
    "web",
    "500m",
]
KEYS = ["a", "b", "name", "yes", "on", "1", "0755", "null", "'a'", '"b"', "? [x]", "? {k: v}", "=", "<<"]


@st.composite
def flow_node(draw: Any, depth: int = 0) -> str:
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        anchor = draw(st.sampled_from(["", "", "", "&x ", "&y "]))
        alias = draw(st.sampled_from([None, None, None, None, "*x", "*y"]))
        return alias if alias is not None else anchor + draw(st.sampled_from(SCALARS))
    if draw(st.booleans()):
        items = draw(st.lists(flow_node(depth + 1), max_size=4))
        return "[" + ", ".join(items) + "]"
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), flow_node(depth + 1)), max_size=4))
    anchor = draw(st.sampled_from(["", "", "&x ", "&y "]))
    return anchor + "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


@settings(max_examples=400, deadline=None)
@given(st.lists(flow_node(), min_size=1, max_size=3))
def test_generated_documents_give_the_same_objects_and_errors(documents: list[str]) -> None:
    assert_same("\n---\n".join(documents))


def repository_yaml_files() -> list[Path]:
    roots = [ROOT / "policies", ROOT / "tests", ROOT / "manifests", ROOT / "examples"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.y*ml"))


@pytest.mark.parametrize("path", repository_yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_yaml_file_reads_the_same(path: Path) -> None:
    assert_same(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: yes\nb: on\nc: 0755\nd: 2024-01-01T00:00:00Z\ne: '1'",
            {"a": True, "b": True, "c": 493, "d": "2024-01-01T00:00:00Z", "e": "1"},
        ),
        ("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2", {"base": {"x": 1}, "use": {"x": 1, "y": 2}}),
    ],
)
def test_kubernetes_yaml_1_1_values(text: str, expected: Any) -> None:
    assert yaml.load(text, Loader=StrictLoader) == expected
    assert_same(text)


def test_an_alias_is_the_same_object_as_its_anchor() -> None:
    document = yaml.load("x: &a [1, {k: v}]\ny: *a\n", Loader=StrictLoader)
    assert document["x"] is document["y"]


def test_a_self_containing_alias_is_built_by_the_generic_path() -> None:
    document = yaml.load("&a [1, *a]", Loader=StrictLoader)
    assert document[1] is document


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb:\n  c: 1\n  c: 2\n",  # nested duplicate
        "a: [ {x: 1, x: 2} ]\nb: 1\nb: 2\n",  # two duplicates: the generic path's order decides which
        "1: a\n1: b\n",
        "yes: a\ntrue: b\n",  # both resolve to True
        "? [a]\n: 1\n",  # unhashable key
        "a: !unknown x\n",
        "a: 1\n---\nb: [\n",  # a syntax error in the second document
    ],
)
def test_errors_are_the_generic_errors(text: str) -> None:
    fast = outcome(text, StrictLoader)
    assert fast[0] == "error"
    assert fast == outcome(text, GenericStrictLoader)


def test_duplicate_key_error_names_the_line_through_the_cli_reader() -> None:
    with pytest.raises(yamlio.YamlError, match=r"document 1: .*line 4, column 1.*duplicate key 'c'"):
        yamlio.load_documents_text("a: 1\n---\nc: 1\nc: 2\n", "pods.yaml")


def test_reading_pauses_the_garbage_collector_only_while_a_document_is_built() -> None:
    import gc

    assert gc.isenabled()
    documents = yaml.load_all("a: 1\n---\nb: [2]\n", Loader=StrictLoader)
    assert next(documents) == {"a": 1}
    assert gc.isenabled()  # enabled again between documents
    with pytest.raises(yaml.YAMLError):
        yaml.load("a: 1\na: 2\n", Loader=StrictLoader)
    assert gc.isenabled()  # and after an error
    assert list(documents) == [{"b": [2]}]


def test_a_cycle_through_a_nested_alias_reads_the_same() -> None:
    assert_same("[&x {a: [*x]}]")


def test_a_failed_fast_attempt_leaves_the_generic_path_its_own_error_order() -> None:
    # Found by the generated-documents test: the unknown tag made the fast path give up in the middle of a
    # deep construction, and the generic path then reported that tag instead of the duplicate key.
    assert_same("{a: [!unknown x], a: yes}\n")
