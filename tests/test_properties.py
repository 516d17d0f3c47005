"""Property tests of the engine: any JSON-like value anywhere in a pod spec, never a crash or a false allow.

- `evaluate` and `mutate` never raise, whatever value sits at whatever pod-spec field, inside any kind
  that carries a pod.
- A malformed pod spec (a value of the wrong type for the Kubernetes schema) is denied under a Deny
  policy by the well-formed `podgate-input` violation naming the field; never allowed.
- Every mutation patch applies with the independent pyjsonpatch to the object as given, yields the
  mutated object, and mutating the mutated object gives an empty patch (idempotence).

The policy set is built from EVERY registered check and mutator that can run with its default
parameters, so checks added later are covered without editing this file.
"""

from __future__ import annotations

import copy
import itertools
import typing
from collections.abc import Iterator
from typing import Any

import msgspec
import pyjsonpatch
import pytest
import testing_mutators  # noqa: F401  (registers the test mutators)
from conftest import pod
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from webhook.policy import PolicyLoadError, PolicySet, Request, evaluate, load_policy_text, mutate
from webhook.policy import k8s_types as types
from webhook.policy.engine import INPUT_POLICY
from webhook.policy.podspec import POD_TEMPLATE_PATHS, pod_view
from webhook.policy.registry import CHECKS, MUTATORS
from webhook.policy.shape import shape_problems

Path = tuple[str | int, ...]


def schema_paths(struct: type, prefix: Path = (), depth: int = 5) -> Iterator[Path]:
    """Every field path of the pod API schema (lists entered at [0]), to a bounded depth."""
    hints = typing.get_type_hints(struct, vars(types))
    for name, hint in hints.items():
        path = (*prefix, name)
        yield path
        if depth > 1:
            yield from _type_paths(hint, path, depth - 1)


def _type_paths(hint: Any, path: Path, depth: int) -> Iterator[Path]:
    for arg in typing.get_args(hint) or (hint,):
        origin = typing.get_origin(arg)
        if origin is list:
            (item,) = typing.get_args(arg)
            yield (*path, 0)
            yield from _type_paths(item, (*path, 0), depth)
        elif isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            yield from schema_paths(arg, path, depth)


POD_SPEC_PATHS = sorted({("spec", *p) for p in schema_paths(types.V1PodSpec)}, key=str)
METADATA_PATHS = [("metadata",), ("metadata", "labels"), ("metadata", "labels", "app"), ("metadata", "name")]
ALL_PATHS = POD_SPEC_PATHS + METADATA_PATHS + [("spec",)]


def _check_policy(check_id: str) -> str | None:
    try:
        CHECKS[check_id].params.model_validate({})
    except ValidationError:
        return None  # needs parameters: covered by its own tests
    return f"{{check: {check_id}, name: {check_id}}}"


def _mutation(mutator_id: str) -> str | None:
    try:
        MUTATORS[mutator_id].params.model_validate({})
    except ValidationError:
        return None
    return f"{{mutator: {mutator_id}, name: {mutator_id}}}"


def everything_policy() -> PolicySet:
    """One Deny policy with every check that runs on defaults; one with every non-conflicting mutator."""
    rules = [r for r in map(_check_policy, sorted(CHECKS)) if r]
    mutations = [m for m in map(_mutation, sorted(MUTATORS)) if m and "not-idempotent" not in m]
    text = f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: everything}}
spec:
  description: every registered check
  remediation: fix it
  actions: [Deny]
  rules: [{", ".join(rules)}]
"""
    documents = [text]
    for i, m in enumerate(mutations):  # one policy per mutator: conflicting targets are a load error
        documents.append(text.replace("name: everything", f"name: mutate-{i}").replace(
            f"rules: [{', '.join(rules)}]", f"rules: [{rules[0]}]\n  mutations: [{m}]"))  # fmt: skip
    try:
        return load_policy_text("---\n".join(documents))
    except PolicyLoadError:  # mutators of other work that conflict: fall back to the checks alone
        return load_policy_text(text)


POLICIES = everything_policy()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def put(obj: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path`, creating mappings and one-element lists on the way."""
    node: Any = obj
    for key, following in itertools.pairwise(path):
        empty: Any = [{}] if isinstance(following, int) else {}
        if isinstance(key, int):
            if not isinstance(node, list) or not node:
                return  # an earlier value replaced the list: nothing to reach
            node = node[0]
            continue
        if not isinstance(node.get(key), (dict, list)) or (isinstance(following, int) and not node.get(key)):
            node[key] = empty
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list) and node:
            node[0] = value
    elif isinstance(node, dict):
        node[last] = value


def wrap(pod_obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """The pod as the template of `kind`, where that kind keeps it."""
    if kind == "Pod":
        return pod_obj
    template = {"metadata": pod_obj["metadata"], "spec": pod_obj["spec"]}
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default"},
    }
    node = obj
    keys = POD_TEMPLATE_PATHS[kind]
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = template
    return obj


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(ALL_PATHS),
    value=json_values,
    kind=st.sampled_from(sorted(POD_TEMPLATE_PATHS)),
    operation=st.sampled_from(["CREATE", "UPDATE"]),
)
def test_any_value_anywhere_never_raises_and_malformed_is_denied(
    path: Path, value: Any, kind: str, operation: str
) -> None:
    base = pod()
    put(base, path, value)
    obj = wrap(base, kind)
    old = wrap(pod(), kind) if operation == "UPDATE" else None
    request = Request(object=obj, operation=operation, old_object=old)
    decision = evaluate(POLICIES, request)
    view = pod_view(obj)
    malformed = view is not None and bool(shape_problems(obj, view))
    event("malformed" if malformed else "well-formed" if view else "no pod spec")
    if malformed:
        assert not decision.allowed, f"a malformed pod was allowed: {path} = {value!r}"
        (violation,) = decision.violations
        assert violation.policy == INPUT_POLICY and violation.actions == ("Deny",)
        assert violation.path and violation.path in violation.message
        assert mutate(POLICIES, request).patch == []  # a malformed pod is not patched
    for v in decision.violations:
        assert isinstance(v.message, str) and v.message.endswith("]") and isinstance(v.path, str)
    if view is not None and not malformed:
        _patch_applies_and_is_idempotent(request)


def _patch_applies_and_is_idempotent(request: Request) -> None:
    original = copy.deepcopy(request.object)
    result = mutate(POLICIES, request)
    assert request.object == original, "mutate changed the object it was given"
    event("patched" if result.patch else "unchanged")
    if not result.patch:
        return
    applied = pyjsonpatch.apply_patch(copy.deepcopy(original), result.patch, mutate=False).obj
    assert applied == result.object
    again = mutate(POLICIES, Request(object=result.object, operation=request.operation))
    assert again.patch == []


label_keys = st.text(alphabet="ab~/.-_é0", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    labels=st.none() | st.dictionaries(label_keys, st.text(max_size=4), max_size=3),
    metadata_null=st.booleans(),
    security_context=st.none()
    | st.fixed_dictionaries({}, optional={"runAsNonRoot": st.none() | st.booleans()}),
    kind=st.sampled_from(sorted(POD_TEMPLATE_PATHS)),
)
def test_every_patch_applies_independently_and_is_idempotent(
    labels: dict[str, str] | None, metadata_null: bool, security_context: Any, kind: str
) -> None:
    base = pod(securityContext=security_context)
    base["metadata"] = None if metadata_null else {"name": "app", "labels": labels}
    obj = wrap(base, kind)
    _patch_applies_and_is_idempotent(Request(object=obj))


def test_the_properties_cover_checks_and_mutators() -> None:
    """The generated policy set is not empty: the properties exercise real checks and mutators."""
    (everything, *mutating) = POLICIES
    assert "no-root" in {rule.check for rule in everything.rules}
    assert {m.mutator for p in mutating for m in p.mutations} >= {"test-owner-label", "test-non-root"}
    assert len(ALL_PATHS) > 300 and ("spec", "containers", 0, "securityContext", "privileged") in ALL_PATHS


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "containers", 0, "securityContext", "runAsNonRoot"), "true"),
        (("spec", "securityContext", "runAsUser"), 2**64),
        (("spec", "containers"), {"name": "app"}),
        (("spec", "securityContext"), []),
        (("spec", "initContainers", 0), "root"),
        (("metadata", "labels"), ["app"]),
    ],
)
def test_known_malformed_values_are_denied_by_podgate_input(path: Path, value: Any) -> None:
    obj = pod(securityContext={"runAsNonRoot": True})
    put(obj, path, value)
    decision = evaluate(POLICIES, Request(object=obj))
    assert not decision.allowed
    assert [v.policy for v in decision.violations] == [INPUT_POLICY]
