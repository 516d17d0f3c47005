"""resource-limits, table-driven: presence, implied requests, bounds as quantities, ratio, bad values."""

from __future__ import annotations

from typing import Any

import pytest
from check_helpers import KINDS, found, judge, policy_text, wrap

from webhook.policy import PolicyLoadError, load_policy_text

IMG = "registry.example.com/acme/app:1.0"
FULL = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}


def c(name: str = "app", **resources: Any) -> dict[str, Any]:
    return {"name": name, "image": IMG, "resources": resources}


R = "spec.containers[0].resources."
# (case id, params, pod spec, expected [(path below the pod, value)])
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, Any]]]] = [
    ("complete", {}, {"containers": [c(**FULL)]}, []),
    (
        "nothing-set",
        {},
        {"containers": [{"name": "app", "image": IMG}]},
        [
            (R + "requests.cpu", None),
            (R + "requests.memory", None),
            (R + "limits.cpu", None),
            (R + "limits.memory", None),
        ],
    ),
    (
        "null-resources-and-null-values",
        {},
        {
            "containers": [
                {"name": "app", "image": IMG, "resources": None},
                c("b", requests={"cpu": None, "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"}),
            ]
        },
        [
            (R + "requests.cpu", None),
            (R + "requests.memory", None),
            (R + "limits.cpu", None),
            (R + "limits.memory", None),
        ],
    ),
    ("limits-imply-requests", {}, {"containers": [c(limits={"cpu": "1", "memory": "1Gi"})]}, []),
    (
        "limits-do-not-imply-requests-when-told",
        {"limitsImplyRequests": False},
        {"containers": [c(limits={"cpu": "1", "memory": "1Gi"})]},
        [(R + "requests.cpu", None), (R + "requests.memory", None)],
    ),
    (
        "only-what-is-required",
        {"requests": ["memory"], "limits": ["memory"]},
        {"containers": [c(limits={"memory": "1Gi"})]},
        [],
    ),
    ("nothing-required", {"requests": [], "limits": []}, {"containers": [c()]}, []),
    (
        "init-container-judged",
        {},
        {"initContainers": [c("init", requests={"cpu": "1", "memory": "1Gi"})], "containers": [c(**FULL)]},
        [
            ("spec.initContainers[0].resources.limits.cpu", None),
            ("spec.initContainers[0].resources.limits.memory", None),
        ],
    ),
    (
        "ephemeral-container-skipped",
        {},
        {"containers": [c(**FULL)], "ephemeralContainers": [{"name": "debug", "image": IMG}]},
        [],
    ),
    (
        "maximum-as-quantities",
        {"maxLimits": {"memory": "1Gi", "cpu": 2}},
        {
            "containers": [
                c(requests={"cpu": "100m", "memory": "1Mi"}, limits={"cpu": "2001m", "memory": "1024Mi"})
            ]
        },
        [(R + "limits.cpu", "2001m")],
    ),
    (
        "maximum-exceeded-in-other-units",
        {"maxLimits": {"memory": "1Gi"}},
        {"containers": [c(requests={"cpu": "1", "memory": "1G"}, limits={"cpu": "1", "memory": "1.1G"})]},
        [(R + "limits.memory", "1.1G")],
    ),
    (
        "minimum-requests",
        {"minRequests": {"cpu": "100m", "memory": "64Mi"}},
        {"containers": [c(requests={"cpu": 0.05, "memory": "64Mi"}, limits={"cpu": "1", "memory": "1Gi"})]},
        [(R + "requests.cpu", 0.05)],
    ),
    (
        "implied-request-is-bounded-too",
        {"maxRequests": {"cpu": "1"}},
        {"containers": [c(limits={"cpu": "2", "memory": "1Gi"})]},
        [(R + "requests.cpu", "2")],
    ),
    (
        "minimum-limits",
        {"minLimits": {"memory": "128Mi"}},
        {"containers": [c(requests={"cpu": "1", "memory": "64Mi"}, limits={"cpu": "1", "memory": "64Mi"})]},
        [(R + "limits.memory", "64Mi")],
    ),
    (
        "ratio",
        {"maxLimitRequestRatio": {"memory": 2, "cpu": "4"}},
        {
            "containers": [
                c(requests={"cpu": "250m", "memory": "256Mi"}, limits={"cpu": "1", "memory": "513Mi"})
            ]
        },
        [(R + "limits.memory", "513Mi")],
    ),
    (
        "ratio-with-zero-request",
        {"maxLimitRequestRatio": {"cpu": 4}},
        {"containers": [c(requests={"cpu": "0", "memory": "1"}, limits={"cpu": "1", "memory": "1"})]},
        [(R + "limits.cpu", "1")],
    ),
    (
        "invalid-quantity",
        {},
        {
            "containers": [
                c(requests={"cpu": "1 core", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1GB"})
            ]
        },
        [(R + "requests.cpu", "1 core"), (R + "limits.memory", "1GB")],
    ),
    (
        "pod-level-resources-cover-containers",
        {},
        {
            "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
            "containers": [c(limits={"cpu": "1"})],
        },
        [],
    ),
    (
        "pod-level-limits-do-not-imply-requests-when-told",
        {"limitsImplyRequests": False},
        {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}, "containers": [c(requests={"cpu": "1"})]},
        [(R + "requests.memory", None)],
    ),
    (
        "ephemeral-storage",
        {"requests": ["ephemeral-storage"], "limits": [], "maxRequests": {"ephemeral-storage": "10Gi"}},
        {"containers": [c(requests={"ephemeral-storage": "20Gi"}), c("b")]},
        [
            (R + "requests.ephemeral-storage", "20Gi"),
            ("spec.containers[1].resources.requests.ephemeral-storage", None),
        ],
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("params", "spec", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_resource_limits(
    kind: str, params: dict[str, Any], spec: dict[str, Any], expected: list[tuple[str, Any]]
) -> None:
    decision = judge("resource-limits", params, wrap(kind, spec))
    assert found(decision, KINDS[kind]) == expected


def test_messages() -> None:
    spec = {"containers": [c(requests={"cpu": "100m"}, limits={"cpu": "8", "memory": "1Gi"})]}
    messages = [
        v.message for v in judge("resource-limits", {"maxLimits": {"cpu": "4"}}, wrap("Pod", spec)).violations
    ]
    assert messages == [
        'container "app" (spec.containers[0]) asks for limits.cpu 8, above the maximum 4: '
        "set resources.limits.cpu to at most 4 [policy under-test]",
    ]
    missing = judge(
        "resource-limits", {}, wrap("Pod", {"containers": [{"name": "app", "image": IMG}]})
    ).violations[0]
    assert (
        missing.message
        == 'container "app" (spec.containers[0]) must set a cpu request: set resources.requests.cpu [policy under-test]'
    )


def test_image_exemption() -> None:
    spec = {
        "containers": [
            {"name": "a", "image": "docker.io/library/busybox:1.36"},
            {"name": "b", "image": IMG, "resources": FULL},
        ]
    }
    decision = judge("resource-limits", {}, wrap("Pod", spec), exemptions={"images": ["docker.io/library/*"]})
    assert decision.violations == ()


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"maxLimits": {"cpu": "2 cores"}}, "params.maxLimits.cpu: '2 cores' is not a Kubernetes quantity"),
        ({"maxLimits": {"gpu": "1"}}, "params.maxLimits.gpu"),
        ({"minRequests": {"memory": "-1Mi"}}, "params.minRequests.memory: '-1Mi' must not be negative"),
        (
            {"minRequests": {"cpu": "2"}, "maxRequests": {"cpu": "1"}},
            "minRequests.cpu (2) is above maxRequests.cpu (1)",
        ),
        ({"maxLimitRequestRatio": {"cpu": "0.5"}}, "must be at least 1"),
        ({"requests": ["cpu", "gpu"]}, "params.requests[1]"),
        ({"maxLimits": {"cpu": True}}, "params.maxLimits.cpu"),
        ({"limitsImplyRequest": True}, "params.limitsImplyRequest: unknown field"),
    ],
)
def test_bad_params_fail_at_load(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(policy_text("resource-limits", params))
    assert problem in str(caught.value)
