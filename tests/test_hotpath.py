"""The hot path's shortcuts give exactly the answers of the plain code they stand in for.

- shape.py checks a Pod's metadata and spec in one conversion, and falls back to the field-by-field
  walk on any problem: the reported (path, problem) must be the walk's, for any corruption.
- pod_view skips the Mapping ABC for plain dicts: other mappings must give the same view.
- mutate returns at once when no policy has mutations: the answer is the usual "unchanged".
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from conftest import POLICIES, pod
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.policy.engine import Request, evaluate, mutate
from webhook.policy.loader import load_policies
from webhook.policy.model import PolicySet
from webhook.policy.podspec import pod_view
from webhook.policy.shape import field_by_field_problems, shape_problems


def rich_pod() -> dict[str, Any]:
    """A pod with something of every JSON type at many depths, for corruptions to land on."""
    container = {
        "name": "web",
        "image": "registry.example.com/shop/web:1.4.2",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
    }
    return pod(
        securityContext={"runAsUser": 10001, "fsGroup": 10001, "sysctls": [{"name": "a", "value": "1"}]},
        initContainers=[dict(copy.deepcopy(container), name="init")],
        containers=[container],
        volumes=[
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "c", "configMap": {"name": "c"}},
        ],
        hostNetwork=False,
    ) | {"metadata": {"name": "app", "labels": {"app": "web"}, "annotations": {"a": "b"}, "generation": 3}}


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the object a value sits at, as a tuple of keys and indexes."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def put(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def rich_cronjob() -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": rich_pod()["spec"]}
    job = {"metadata": {"labels": {"job": "x"}}, "spec": {"backoffLimit": 2, "template": template}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "annotations": {"a": "b"}},
        "spec": {"schedule": "@daily", "jobTemplate": job},
    }


WRONG_VALUES = st.sampled_from(["x", "", 0, 7, -1, 1.5, True, False, None, [], ["x"], {}, {"k": 1}, 2**64])
SAMPLES = {"Pod": rich_pod, "CronJob": rich_cronjob}
PATHS = {kind: [p for p in paths(build()) if p[0] in ("metadata", "spec")] for kind, build in SAMPLES.items()}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_one_pass_shape_check_reports_what_the_field_by_field_walk_reports(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(SAMPLES)))
    corruptions = data.draw(
        st.lists(st.tuples(st.sampled_from(PATHS[kind]), WRONG_VALUES), min_size=1, max_size=3)
    )
    obj = SAMPLES[kind]()
    for path, value in corruptions:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier one replaced a parent
            put(obj, path, value)
    view = pod_view(obj)
    if view is None:  # the spec itself was replaced by a non-mapping: nothing to judge
        return
    assert shape_problems(obj, view) == field_by_field_problems(obj, view)


def test_a_well_formed_pod_and_a_bad_one_both_ways() -> None:
    for good in (rich_pod(), rich_cronjob()):
        view = pod_view(good)
        assert view is not None
        assert shape_problems(good, view) == field_by_field_problems(good, view) == []
    bad = rich_pod()
    bad["metadata"]["labels"] = {"app": 1}  # metadata and spec both bad: metadata is reported first
    bad["spec"]["hostNetwork"] = "yes"
    view = pod_view(bad)
    assert view is not None
    assert shape_problems(bad, view) == [("metadata.labels[...]", "must be a string, not an integer")]
    workload = rich_cronjob()  # the workload's own metadata comes first, then the template's, then the spec
    workload["metadata"]["annotations"] = {"a": True}
    view = pod_view(workload)
    assert view is not None
    assert shape_problems(workload, view) == [
        ("metadata.annotations[...]", "must be a string, not a boolean")
    ]
    workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] = []
    workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]["hostPID"] = "yes"
    view = pod_view(workload)
    assert view is not None
    assert shape_problems(workload, view) == [
        ("metadata.annotations[...]", "must be a string, not a boolean")
    ]
    del workload["metadata"]["annotations"]
    assert shape_problems(workload, view) == [
        ("spec.jobTemplate.spec.template.metadata.labels", "must be a mapping, not a list")
    ]
    del workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert shape_problems(workload, view) == [
        ("spec.jobTemplate.spec.template.spec.hostPID", "must be a boolean, not a string")
    ]


def test_shape_check_of_other_mappings_matches_plain_dicts() -> None:
    obj = rich_pod()
    frozen = MappingProxyType(obj)
    view = pod_view(frozen)
    assert view is not None
    assert shape_problems(frozen, view) == field_by_field_problems(frozen, view) == []


def freeze(node: Any) -> Any:
    """The same object made of read-only mappings (not dicts) all the way down."""
    if isinstance(node, dict):
        return MappingProxyType({k: freeze(v) for k, v in node.items()})
    if isinstance(node, list):
        return [freeze(v) for v in node]
    return node


def test_pod_view_of_other_mappings_matches_plain_dicts() -> None:
    for kind_obj in (rich_pod(), {"kind": "Deployment", "spec": {"template": rich_pod()}}):
        plain, frozen = pod_view(kind_obj), pod_view(freeze(kind_obj))
        assert plain is not None and frozen is not None
        assert (plain.kind, plain.prefix, plain.spec_path) == (frozen.kind, frozen.prefix, frozen.spec_path)
        assert [(c.field, c.index, c.path, c.name) for c in plain.containers] == [
            (c.field, c.index, c.path, c.name) for c in frozen.containers
        ]
        assert isinstance(frozen.metadata, Mapping) and dict(frozen.metadata) == dict(plain.metadata)


def test_decisions_on_a_read_only_object_match_plain_dicts() -> None:
    policies = load_policies(POLICIES)
    bad = rich_pod()
    bad["spec"]["containers"][0]["securityContext"]["privileged"] = True
    bad["spec"]["hostNetwork"] = True
    malformed = rich_pod()
    malformed["spec"]["hostNetwork"] = "yes"
    for obj in (rich_pod(), bad, malformed):
        plain = evaluate(policies, Request(object=obj))
        assert plain == evaluate(policies, Request(object=MappingProxyType(obj)))
        assert plain.violations  # the rich pod sets an unsafe sysctl: every variant is judged


def test_mutate_without_mutating_policies_returns_the_object_unchanged() -> None:
    shipped = load_policies(POLICIES)
    policies = PolicySet(tuple(p for p in shipped if not p.mutations))  # the shipped set mutates
    assert shipped.mutating and len(policies) > 1 and not policies.mutating
    for obj in (rich_pod(), pod(hostNetwork="yes"), {"kind": "ConfigMap"}):
        result = mutate(policies, Request(object=obj))
        assert result.patch == [] and result.object is obj and result.applied == ()


def test_mutation_copies_exactly_what_orjson_cannot_encode() -> None:
    # YAML can hold integers beyond 64 bits; the fast copy falls back to deepcopy and the patch stays exact.
    from webhook.policy.engine import _json_copy

    big = {"spec": {"n": 2**70, "t": (1, 2)}, "metadata": {"labels": {"a": "b"}}}
    copied = _json_copy(big)
    assert copied == big and copied["spec"] is not big["spec"] and copied["spec"]["t"] == (1, 2)
    plain = {"spec": {"containers": [{"name": "a"}]}}
    copied = _json_copy(plain)
    assert copied == plain and copied["spec"]["containers"][0] is not plain["spec"]["containers"][0]
