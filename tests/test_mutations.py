"""The mutators and the engine's mutation rules, with every patch applied by the independent pyjsonpatch.

For every case: the patch applied to the object as received gives the mutated object, mutating that
again gives an empty patch (idempotence), and every patched field lies within the mutator's declared
`targets`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pyjsonpatch
import pytest
from check_helpers import KINDS, wrap

from webhook.policy import PolicyLoadError, Request, load_policy_text, mutate
from webhook.policy.loader import target_segments
from webhook.policy.podspec import POD_TEMPLATE_PATHS
from webhook.policy.registry import MUTATORS

IMG = "registry.example.com/acme/app:1.0"


def mutation_policy(mutator: str, params: dict[str, Any] | None = None, name: str = "defaults") -> str:
    return f"""\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {{name: {name}}}
spec:
  description: Defaults.
  remediation: None needed.
  actions: [Audit]
  rules: [{{check: no-root}}]
  mutations: [{{mutator: {mutator}, params: {json.dumps(params or {})}}}]
"""


def patched(
    mutator: str, params: dict[str, Any] | None, obj: dict[str, Any], **request: Any
) -> tuple[list[Any], Any]:
    """Mutate, apply the patch independently, check idempotence and targets; return (patch, result)."""
    policies = load_policy_text(mutation_policy(mutator, params))
    received = copy.deepcopy(obj)
    result = mutate(policies, Request(object=obj, **request))
    assert obj == received, "mutate must not change the object it was given"
    applied = pyjsonpatch.apply_patch(copy.deepcopy(obj), result.patch, mutate=False).obj
    assert applied == result.object
    assert mutate(policies, Request(object=applied, **request)).patch == [], "not idempotent"
    (policy,) = policies
    targets = [_absolute(t) for t in policy.mutations[0].compiled.targets]
    prefix = list(POD_TEMPLATE_PATHS[obj["kind"]])
    for op in result.patch:
        segments = [s.replace("~1", "/").replace("~0", "~") for s in op["path"].split("/")[1:]]
        assert segments[: len(prefix)] == prefix, op
        below = tuple(segments[len(prefix) :])
        assert any(_overlaps(below, t) for t in targets), f"{op['path']} is outside the targets {targets}"
    return result.patch, applied


def _absolute(target: str) -> tuple[str, ...]:
    segments = target_segments(target)
    return segments if segments[0] == "metadata" else ("spec", *segments)


def _overlaps(path: tuple[str, ...], target: tuple[str, ...]) -> bool:
    return all(a == b or (b == "*" and a.isdigit()) for a, b in zip(path, target, strict=False))


def pod_spec(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"containers": list(containers), **extra}


def c(name: str = "app", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": IMG, **fields}


# ---------------------------------------------------------------- default-labels

LABELS = {"labels": {"zone": "internal", "app.kubernetes.io/part-of": "shop"}}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (None, {"zone": "internal", "app.kubernetes.io/part-of": "shop"}),
        ({}, {"zone": "internal", "app.kubernetes.io/part-of": "shop"}),
        ({"app": "x"}, {"app": "x", "zone": "internal", "app.kubernetes.io/part-of": "shop"}),
        ({"zone": "public"}, {"zone": "public", "app.kubernetes.io/part-of": "shop"}),
        (
            {"zone": "", "app.kubernetes.io/part-of": "other"},
            {"zone": "", "app.kubernetes.io/part-of": "other"},
        ),
    ],
    ids=["no-map", "empty-map", "other-labels", "one-set", "all-set-even-empty"],
)
def test_default_labels(kind: str, labels: dict[str, str] | None, expected: dict[str, str]) -> None:
    obj = wrap(kind, pod_spec(c()), labels)
    _, result = patched("default-labels", LABELS, obj)
    node = result
    for key in KINDS[kind].split(".")[:-1]:
        node = node[key]
    assert node["metadata"]["labels"] == expected


def test_default_labels_escapes_slash_in_pointer() -> None:
    patch, _ = patched(
        "default-labels",
        {"labels": {"a~b/c": "x"}} if False else LABELS,
        wrap("Pod", pod_spec(c()), {"app": "x"}),
    )
    assert {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1part-of", "value": "shop"} in patch


def test_default_labels_null_metadata() -> None:
    obj = wrap("Deployment", pod_spec(c()))
    obj["spec"]["template"]["metadata"] = None
    _, result = patched("default-labels", LABELS, obj)
    assert result["spec"]["template"]["metadata"] == {"labels": LABELS["labels"]}


# ------------------------------------------------------- disable-privilege-escalation


@pytest.mark.parametrize("kind", KINDS)
def test_disable_privilege_escalation_fills_only_unset(kind: str) -> None:
    spec = pod_spec(
        c("unset"),
        c("null-context", securityContext=None),
        c("explicit-true", securityContext={"allowPrivilegeEscalation": True}),
        c("explicit-false", securityContext={"allowPrivilegeEscalation": False, "runAsNonRoot": True}),
        c("privileged", securityContext={"privileged": True}),
        c("sys-admin", securityContext={"capabilities": {"add": ["cap_sys_admin"]}}),
        c("other-cap", securityContext={"capabilities": {"add": ["NET_ADMIN"]}}),
        initContainers=[c("init")],
        ephemeralContainers=[c("debug")],
    )
    _, result = patched("disable-privilege-escalation", None, wrap(kind, spec))
    node = result
    for key in KINDS[kind].split(".")[:-1]:
        node = node[key]
    escalation = {
        x["name"]: (x.get("securityContext") or {}).get("allowPrivilegeEscalation")
        for field in ("initContainers", "containers", "ephemeralContainers")
        for x in node["spec"][field]
    }
    assert escalation == {
        "init": False, "unset": False, "null-context": False, "explicit-true": True, "explicit-false": False,
        "privileged": None, "sys-admin": None, "other-cap": False, "debug": False,
    }  # fmt: skip


def test_disable_privilege_escalation_skips_windows_pods() -> None:
    patch, _ = patched(
        "disable-privilege-escalation", None, wrap("Pod", pod_spec(c(), os={"name": "windows"}))
    )
    assert patch == []


# ---------------------------------------------------------------- default-resources

DEFAULTS = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (None, DEFAULTS),
        ({}, DEFAULTS),
        (
            {"requests": {"cpu": "1"}},
            {"requests": {"cpu": "1", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        ),
        (
            {"limits": {"memory": "64Mi"}},
            {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "64Mi", "cpu": "500m"}},
        ),
        (
            {"limits": {"cpu": "2"}, "requests": None},
            {"requests": {"cpu": "2", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "256Mi"}},
        ),
        ({"requests": {"memory": "1Gi", "cpu": "200m"}, "limits": {"memory": "2Gi", "cpu": "1"}}, None),
    ],
    ids=[
        "no-resources",
        "empty",
        "big-request-raises-default-limit",
        "small-limit-caps-request",
        "limit-becomes-request",
        "complete",
    ],
)
def test_default_resources(
    kind: str, resources: dict[str, Any] | None, expected: dict[str, Any] | None
) -> None:
    app = c() if resources is None else c(resources=resources)
    spec = pod_spec(app, initContainers=[c("init")], ephemeralContainers=[c("debug")])
    _, result = patched("default-resources", DEFAULTS, wrap(kind, spec))
    node = result
    for key in KINDS[kind].split(".")[:-1]:
        node = node[key]
    assert node["spec"]["containers"][0].get("resources") == (expected or resources)
    assert node["spec"]["initContainers"][0]["resources"] == DEFAULTS
    assert "resources" not in node["spec"]["ephemeralContainers"][0]


def test_default_resources_leaves_resources_set_at_pod_level() -> None:
    spec = pod_spec(c(), resources={"limits": {"memory": "1Gi"}})
    _, result = patched("default-resources", DEFAULTS, wrap("Deployment", spec))
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}


def test_default_resources_only_requests() -> None:
    _, result = patched("default-resources", {"requests": {"memory": "64Mi"}}, wrap("Pod", pod_spec(c())))
    assert result["spec"]["containers"][0]["resources"] == {"requests": {"memory": "64Mi"}}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "give at least one default"),
        ({"requests": {"cpu": "lots"}}, "is not a Kubernetes quantity"),
        ({"requests": {"cpu": "-1"}}, "params.requests.cpu: '-1' must not be negative"),
        (
            {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
            "the default request for cpu is above its default limit",
        ),
        ({"requests": {"gpu": "1"}}, "params.requests.gpu"),
    ],
)
def test_default_resources_bad_params(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(mutation_policy("default-resources", params))
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "params.labels: required field is missing"),
        ({"labels": {"bad key": "x"}}, "label key 'bad key'"),
        ({"labels": {"zone": "no spaces"}}, "label value 'no spaces'"),
    ],
)
def test_default_labels_bad_params(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(mutation_policy("default-labels", params))
    assert problem in str(caught.value)


def test_the_mutators_tested_here_are_registered() -> None:
    assert {"default-labels", "default-resources", "disable-privilege-escalation"} <= set(MUTATORS)


# ------------------------------------------------------ the engine: what may be patched


def test_pod_is_mutated_on_create_only() -> None:
    pod = wrap("Pod", pod_spec(c()))
    assert patched("disable-privilege-escalation", None, pod)[0] != []
    assert patched("disable-privilege-escalation", None, pod, operation="UPDATE", old_object=pod)[0] == []


def test_job_template_is_immutable_but_deployment_template_is_not() -> None:
    job = wrap("Deployment", pod_spec(c()))
    job["kind"], job["apiVersion"] = "Job", "batch/v1"
    assert patched("disable-privilege-escalation", None, job, operation="UPDATE", old_object=job)[0] == []
    deployment = wrap("Deployment", pod_spec(c()))
    update = patched(
        "disable-privilege-escalation", None, deployment, operation="UPDATE", old_object=deployment
    )[0]
    assert update == [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/securityContext",
            "value": {"allowPrivilegeEscalation": False},
        }
    ]


def test_ephemeral_subresource_touches_only_new_ephemeral_containers() -> None:
    old = wrap("Pod", pod_spec(c(), ephemeralContainers=[c("debug-1")]), {"app": "x"})
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"].append(c("debug-2"))
    for mutator, params in (
        ("disable-privilege-escalation", None),
        ("default-labels", LABELS),
        ("default-resources", DEFAULTS),
    ):
        patch, _ = patched(
            mutator, params, new, operation="UPDATE", subresource="ephemeralcontainers", old_object=old
        )
        expected = (
            [
                {
                    "op": "add",
                    "path": "/spec/ephemeralContainers/1/securityContext",
                    "value": {"allowPrivilegeEscalation": False},
                }
            ]
            if mutator == "disable-privilege-escalation"
            else []
        )
        assert patch == expected, mutator


def test_ephemeral_subresource_without_old_object_treats_all_as_new() -> None:
    new = wrap("Pod", pod_spec(c(), ephemeralContainers=[c("debug")]))
    patch, _ = patched(
        "disable-privilege-escalation", None, new, operation="UPDATE", subresource="ephemeralcontainers"
    )
    assert [op["path"] for op in patch] == ["/spec/ephemeralContainers/0/securityContext"]


# ------------------------------------------------------------ target conflicts at load


def two(mutator_a: str, params_a: dict[str, Any], mutator_b: str, params_b: dict[str, Any]) -> str:
    return (
        mutation_policy(mutator_a, params_a, name="a")
        + "---\n"
        + mutation_policy(mutator_b, params_b, name="b")
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"labels": {"zone": "x"}}, {"labels": {"zone": "y"}}),
        (
            {"labels": {"app.kubernetes.io/name": "x"}},
            {"labels": {"app.kubernetes.io/name": "y", "other": "z"}},
        ),
    ],
)
def test_same_target_conflicts(a: dict[str, Any], b: dict[str, Any]) -> None:
    with pytest.raises(PolicyLoadError, match=r"only one mutation may set a field"):
        load_policy_text(two("default-labels", a, "default-labels", b))


def test_distinct_labels_do_not_conflict() -> None:
    labels = load_policy_text(
        two(
            "default-labels",
            {"labels": {"zone": "x"}},
            "default-labels",
            {"labels": {"zones": "y", "app.kubernetes.io/zone": "z"}},
        )
    )
    resources = load_policy_text(
        two("default-resources", {"requests": {"cpu": "1"}}, "default-resources", {"limits": {"cpu": "1"}})
    )
    assert [p.name for p in labels] == [p.name for p in resources] == ["a", "b"]


def test_parent_and_child_targets_conflict() -> None:
    from webhook.policy.loader import _overlap

    assert _overlap(target_segments("metadata.labels"), target_segments("metadata.labels.app"))
    assert _overlap(target_segments("metadata.labels[app]"), target_segments("metadata.labels.app"))
    assert _overlap(
        target_segments("containers[*].securityContext"),
        target_segments("containers[0].securityContext.runAsUser"),
    )
    assert not _overlap(target_segments("metadata.labels.app"), target_segments("metadata.labels.apps"))
    assert not _overlap(
        target_segments("containers[*].resources"), target_segments("initContainers[*].resources")
    )
    assert target_segments("metadata.labels['app.kubernetes.io/name']") == (
        "metadata",
        "labels",
        "app.kubernetes.io/name",
    )


def test_parent_child_conflict_between_policies_is_a_load_error() -> None:
    from webhook.policy.registry import MUTATORS as registry
    from webhook.policy.registry import CheckParams, Mutator, mutator

    class NoParams(CheckParams):
        pass

    @mutator("test-set-all-labels", params=NoParams, summary="sets the whole labels map (test only)")
    def build(params: NoParams) -> Mutator:
        return Mutator(apply=lambda pod: None, targets=frozenset({"metadata.labels"}))

    try:
        with pytest.raises(PolicyLoadError) as caught:
            load_policy_text(two("default-labels", {"labels": {"zone": "x"}}, "test-set-all-labels", {}))
        assert "sets metadata.labels, which overlaps metadata.labels.zone set by policy 'a'" in str(
            caught.value
        )
    finally:
        del registry["test-set-all-labels"]
