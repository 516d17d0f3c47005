"""Objects are read from YAML, JSON, multi-document files, Lists and AdmissionReviews, with clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import SHARED_FIXTURES, pod

from webhook.inputs import InputError, read_inputs


def test_multi_document_yaml_and_lists(tmp_path: Path) -> None:
    listing = {"apiVersion": "v1", "kind": "PodList", "items": [pod(), pod()]}
    path = tmp_path / "many.yaml"
    path.write_text("---\n" + json.dumps(pod()) + "\n---\n" + json.dumps(listing) + "\n---\n")
    found = list(read_inputs([str(path)]))
    assert [(o.document, o.item) for o in found] == [(0, None), (1, 0), (1, 1)]
    assert found[2].where == f"{path}: document 1: items[1]"
    assert all(o.request.operation == "CREATE" for o in found)


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(
        "kind: Pod\nmetadata: {creationTimestamp: 2026-11-22T05:00:00Z}\nspec: {containers: []}\n"
    )
    (found,) = read_inputs([str(path)])
    assert found.request.object is not None
    assert found.request.object["metadata"]["creationTimestamp"] == "2026-11-22T05:00:00Z"


def test_admission_review_gives_the_request_context() -> None:
    (found,) = read_inputs([str(SHARED_FIXTURES / "pod-update-ephemeralcontainers-kubectl-debug.json")])
    request = found.request
    assert (request.operation, request.subresource, request.kind) == ("UPDATE", "ephemeralcontainers", "Pod")
    assert request.old_object is not None and request.user.username == "kubernetes-admin"
    assert "system:authenticated" in request.user.groups
    (dry,) = read_inputs([str(SHARED_FIXTURES / "pod-create-kubectl-run-dry-run.json")])
    assert dry.request.dry_run


def test_directories_and_stdin() -> None:
    found = list(read_inputs([str(SHARED_FIXTURES)]))
    assert len(found) == len(list(SHARED_FIXTURES.glob("*.json")))
    (from_stdin,) = read_inputs(["-"], stdin=io.StringIO(json.dumps(pod())))
    assert from_stdin.source == "-"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "document 0: invalid YAML at line 2"),
        ("kind: Pod\n---\n- 1\n", "document 1: expected a Kubernetes object"),
        ("kind: Pod\nkind: Pod\n", "duplicate key 'kind'"),
        ('{"kind": "AdmissionReview"}', "AdmissionReview has no `request` object"),
        ('{"kind": "PodList", "items": [1]}', "items[0] is not an object"),
    ],
)
def test_bad_input_names_source_and_document(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=None) as info:
        list(read_inputs([str(path)]))
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        list(read_inputs([str(tmp_path / "nope.yaml")]))
