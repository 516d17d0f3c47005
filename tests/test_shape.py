"""A malformed pod spec is reported with the path of the bad field, and k8s_types.py is current."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT, pod, shared_review

from webhook.policy.podspec import pod_view
from webhook.policy.shape import shape_problems


def problems(obj: dict[str, Any]) -> list[tuple[str, str]]:
    view = pod_view(obj)
    assert view is not None
    return shape_problems(obj, view)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT.parent / "shared" / "fixtures" / "admission").glob("*.json"))
)
def test_every_shared_sample_is_well_formed(name: str) -> None:
    obj = shared_review(name)["request"]["object"]
    view = pod_view(obj) if obj else None
    if view is not None:
        assert shape_problems(obj, view) == []


@pytest.mark.parametrize(
    ("spec", "path", "problem"),
    [
        ({"hostNetwork": "yes"}, "spec.hostNetwork", "must be a boolean, not a string"),
        ({"hostPID": 1}, "spec.hostPID", "must be a boolean, not an integer"),
        ({"securityContext": []}, "spec.securityContext", "must be a mapping, not a list"),
        (
            {"securityContext": {"runAsUser": 2**64}},
            "spec.securityContext.runAsUser",
            "<= 9223372036854775807",
        ),
        (
            {"securityContext": {"runAsUser": 1.5}},
            "spec.securityContext.runAsUser",
            "must be an integer, not a number",
        ),
        ({"containers": {"name": "x"}}, "spec.containers", "must be a list, not a mapping"),
        ({"containers": ["x"]}, "spec.containers[0]", "must be a mapping, not a string"),
        (
            {"containers": [{"name": "a", "securityContext": {"privileged": "true"}}]},
            "spec.containers[0].securityContext.privileged",
            "must be a boolean, not a string",
        ),
        (
            {"containers": [{"name": "a", "securityContext": {"capabilities": {"add": [7]}}}]},
            "spec.containers[0].securityContext.capabilities.add[0]",
            "must be a string, not an integer",
        ),
        (
            {"volumes": [{"name": "v", "hostPath": {"path": None, "type": ["x"]}}]},
            "spec.volumes[0].hostPath.type",
            "must be a string, not a list",
        ),
    ],
)
def test_wrong_types_are_named_with_their_path(spec: dict[str, Any], path: str, problem: str) -> None:
    [(found_path, found_problem)] = problems(pod(**spec))
    assert found_path == path
    assert problem in found_problem


def test_nulls_unknown_fields_quantities_and_int_or_string_are_accepted() -> None:
    container = {
        "name": "a",
        "image": "x",
        "securityContext": None,
        "futureField": {"anything": [1, "two"]},
        "resources": {"limits": {"cpu": 1, "memory": "128Mi"}, "requests": {"cpu": 0.5}},
        "livenessProbe": {"httpGet": {"port": "http"}, "tcpSocket": {"port": 8080}},
    }
    assert problems(pod(containers=[container], nodeName=None)) == []


def test_template_metadata_of_controllers_is_checked() -> None:
    deployment = shared_review("deployment-create.json")["request"]["object"]
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": 1}
    [(path, problem)] = problems(deployment)
    assert path.startswith("spec.template.metadata.labels")
    assert "must be a string" in problem


def test_generated_types_match_the_installed_kubernetes_client() -> None:
    import kubernetes

    from webhook.policy import k8s_types

    if kubernetes.__version__ != k8s_types.SOURCE_VERSION:
        pytest.skip(
            f"k8s_types.py was generated from {k8s_types.SOURCE_VERSION}, installed {kubernetes.__version__}"
        )
    generated = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_k8s_types.py")], capture_output=True, text=True, check=True
    ).stdout
    assert generated == (ROOT / "webhook" / "policy" / "k8s_types.py").read_text(), (
        "regenerate: python tools/gen_k8s_types.py > webhook/policy/k8s_types.py"
    )
