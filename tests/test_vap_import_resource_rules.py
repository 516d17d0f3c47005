"""An imported policy's resourceRules: judged on exactly the (kind, subresource, operation) they name.

Where podgate's `match` (operations x kinds) cannot say it, the importer adds a match condition on
`request`; every combination a rule can see is tried here against the set the rules name, written out
by hand from the Kubernetes definition.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import pod
from test_vap_import import deployment, vap

from webhook.policy import Request, evaluate, load_policy_text
from webhook.policy.podspec import POD_KINDS
from webhook.policy.vap.importer import _resource_condition

CRONJOB = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "c", "namespace": "default"},
    "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}},
}
OBJECTS = {"Pod": pod(), "Deployment": deployment(1), "CronJob": CRONJOB}
SUBRESOURCES = ("", "ephemeralcontainers")
OPERATIONS = ("CREATE", "UPDATE")
# The requests an API server sends (only pods have the ephemeralcontainers subresource).
EVERY = {(k, s, o) for k in OBJECTS for s in SUBRESOURCES for o in OPERATIONS if k == "Pod" or not s}

ALL_CREATE = {(k, "", "CREATE") for k in OBJECTS}
CASES: list[tuple[str, set[tuple[str, str, str]]]] = [
    (  # what `podgate export vap` writes: every kind on CREATE, and `kubectl debug`
        """
      - {apiGroups: [''], apiVersions: ['*'], operations: [CREATE], resources: [pods, podtemplates, replicationcontrollers]}
      - {apiGroups: [apps], apiVersions: ['*'], operations: [CREATE], resources: [daemonsets, deployments, replicasets, statefulsets]}
      - {apiGroups: [batch], apiVersions: ['*'], operations: [CREATE], resources: [cronjobs, jobs]}
      - {apiGroups: [''], apiVersions: ['*'], operations: [UPDATE], resources: [pods/ephemeralcontainers]}""",
        ALL_CREATE | {("Pod", "ephemeralcontainers", "UPDATE")},
    ),
    (
        """
      - {apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*']}""",
        {(k, "", o) for k in OBJECTS for o in OPERATIONS},
    ),
    (
        """
      - {apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*', '*/*']}""",
        {(k, "", o) for k in OBJECTS for o in OPERATIONS}
        | {("Pod", "ephemeralcontainers", o) for o in OPERATIONS},
    ),
    (
        """
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
      - {apiGroups: [''], apiVersions: [v1], operations: [UPDATE], resources: [pods]}""",
        {("Deployment", "", "CREATE"), ("Deployment", "", "UPDATE"), ("Pod", "", "UPDATE")},
    ),
    (
        """
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: ['pods/*']}
      - {apiGroups: [batch], apiVersions: [v1], operations: [UPDATE], resources: [cronjobs]}""",
        {("Pod", "ephemeralcontainers", "CREATE"), ("CronJob", "", "UPDATE")},
    ),
    (
        """
      - {apiGroups: ['', apps, batch], apiVersions: ['*'], operations: [CREATE], resources: ['*']}
      - {apiGroups: [''], apiVersions: ['*'], operations: [CREATE, UPDATE], resources: [pods/ephemeralcontainers]}""",
        ALL_CREATE | {("Pod", "ephemeralcontainers", o) for o in OPERATIONS},
    ),
]


@pytest.mark.parametrize(("rules", "named"), CASES)
def test_judged_on_exactly_the_requests_the_rules_name(rules: str, named: set[tuple[str, str, str]]) -> None:
    spec = f"  matchConstraints:\n    resourceRules:{rules}\n  validations: [{{expression: 'false', message: judged}}]"
    policies = load_policy_text(vap(spec), "v.yaml")
    judged = set()
    for kind, subresource, operation in sorted(EVERY):
        obj: Any = OBJECTS[kind]
        old = obj if operation == "UPDATE" else None
        request = Request(object=obj, operation=operation, kind=kind, subresource=subresource, old_object=old)
        if not evaluate(policies, request).allowed:
            judged.add((kind, subresource, operation))
    assert judged == named


def test_the_condition_tests_only_what_the_match_does_not_say() -> None:
    (rules, _), *_ = CASES
    spec = f"  matchConstraints:\n    resourceRules:{rules}\n  validations: [{{expression: 'false'}}]"
    # Only a Pod has the ephemeralcontainers subresource: no kind to test there.
    triples = {(k, "", "CREATE") for k in POD_KINDS} | {("Pod", "ephemeralcontainers", "UPDATE")}
    assert _resource_condition(triples) == (
        "(request.subResource == '' && request.operation == 'CREATE')"
        " || (request.subResource == 'ephemeralcontainers' && request.operation == 'UPDATE')"
    )
    # The match's kinds are Deployment and Pod: UPDATE holds for both, CREATE for one.
    triples = {("Deployment", "", "CREATE"), ("Deployment", "", "UPDATE"), ("Pod", "", "UPDATE")}
    assert _resource_condition(triples) == (
        "(request.subResource == '' && request.operation == 'CREATE' && request.kind.kind in ['Deployment'])"
        " || (request.subResource == '' && request.operation == 'UPDATE')"
    )
    assert load_policy_text(vap(spec), "v.yaml").policies  # (it loads: the condition compiles)


def test_every_pairing_of_two_rules_is_exact() -> None:
    """Any two single-kind rules, each with one operation and subresource: the union, nothing more."""
    resources = {
        "Pod": ("''", "pods"),
        "Deployment": ("apps", "deployments"),
        "CronJob": ("batch", "cronjobs"),
    }
    singles = sorted(EVERY)
    for first, second in itertools.combinations(singles, 2):
        lines = ""
        for kind, subresource, operation in (first, second):
            group, resource = resources[kind]
            resource += f"/{subresource}" if subresource else ""
            lines += (
                f"\n      - {{apiGroups: [{group}], apiVersions: ['*'], operations: [{operation}],"
                f" resources: [{resource}]}}"
            )
        test_judged_on_exactly_the_requests_the_rules_name(lines, {first, second})
