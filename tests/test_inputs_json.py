"""The .json fast path (orjson) reads what the YAML path reads, and falls back to YAML when it must."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import pod

from webhook.inputs import InputError, read_inputs
from webhook.policy import Request, evaluate, load_policy_text

POD = pod(securityContext={"runAsNonRoot": True}, volumes=[{"name": "v", "configMap": {"defaultMode": 420}}])


def objects(path: Path) -> list[object]:
    return [o.request.object for o in read_inputs([str(path)])]


def test_json_and_yaml_give_the_same_objects(tmp_path: Path) -> None:
    listing = {"apiVersion": "v1", "kind": "List", "items": [POD, POD]}
    (tmp_path / "a.json").write_text(json.dumps(listing, ensure_ascii=False))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(listing))
    assert objects(tmp_path / "a.json") == objects(tmp_path / "a.yaml") == [POD, POD]


def test_duplicate_json_keys_keep_the_last_as_the_api_server_does(tmp_path: Path) -> None:
    (tmp_path / "dup.json").write_text('{"kind": "Pod", "metadata": {"name": "a", "name": "b"}, "spec": {}}')
    (obj,) = objects(tmp_path / "dup.json")
    assert obj == {"kind": "Pod", "metadata": {"name": "b"}, "spec": {}}  # type: ignore[comparison-overlap]


def test_a_number_beyond_64_bits_falls_back_to_yaml_and_is_denied_as_malformed(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(json.dumps(pod(securityContext={"runAsUser": 2**64})))
    (found,) = read_inputs([str(tmp_path / "big.json")])
    policy = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: no-root}
spec: {description: d, remediation: r, actions: [Deny], rules: [{check: no-root}]}
"""
    decision = evaluate(load_policy_text(policy), Request(object=found.request.object))
    assert not decision.allowed
    assert [v.policy for v in decision.violations] == ["podgate-input"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"kind": "Pod",', "document 0: invalid YAML"),
        (b'{"kind": "Pod", "x": "\xff"}', "not UTF-8 text"),
        (b"[1, 2]", "document 0: expected a Kubernetes object"),
    ],
)
def test_bad_json_is_an_input_error_naming_the_file(tmp_path: Path, data: bytes, message: str) -> None:
    (tmp_path / "bad.json").write_bytes(data)
    with pytest.raises(InputError) as info:
        list(read_inputs([str(tmp_path / "bad.json")]))
    assert str(info.value).startswith(str(tmp_path / "bad.json")) and message in str(info.value)
