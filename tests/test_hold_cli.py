"""`podgate hold` / `podgate release` against a loopback API server answering with the API's JSON."""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT
from kube_loopback import Call, KubeLoopback, serving, status

from webhook.cli import main

POD_PATH = "/api/v1/namespaces/shop/pods/web"
DEPLOY_PATH = "/apis/apps/v1/namespaces/shop/deployments/web"
SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
NP_PATH = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies `--type merge`."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeObject:
    """One stored object: GET returns it, PATCH merges into it (unless a webhook refuses)."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.refusal: tuple[int, dict[str, Any]] | None = None

    def get(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, self.obj

    def patch(self, call: Call) -> tuple[int, dict[str, Any]]:
        if self.refusal:
            return self.refusal
        assert call.headers["Content-Type"] == "application/merge-patch+json"
        self.obj = merge_patch(self.obj, call.body)
        self.obj["metadata"]["resourceVersion"] = str(int(self.obj["metadata"]["resourceVersion"]) + 1)
        return 200, self.obj


def api_pod() -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "6f1c2b9e-4d0a-4e1b-9a7c-3b2d1e0f9a8b",
            "resourceVersion": "4711",
            "creationTimestamp": "2026-12-01T22:10:04Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f8c6b5"},
            "annotations": {"kubectl.kubernetes.io/default-container": "web"},
        },
        "spec": {
            "containers": [{"name": "web", "image": "registry.example.com/shop/web:1.4.2", "resources": {}}]
        },
        "status": {"phase": "Running"},
    }


@pytest.fixture
def kube() -> Iterator[KubeLoopback]:
    with serving() as loop:
        yield loop


def answer_self_review(kube: KubeLoopback, user_info: dict[str, Any]) -> None:
    """The API server's SelfSubjectReview answer: who the kubeconfig's credentials are."""
    kube.answer(
        "POST",
        SSR_PATH,
        (
            201,
            {
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "status": {"userInfo": user_info},
            },
        ),
    )


@pytest.fixture
def cluster(kube: KubeLoopback, tmp_path: Path) -> tuple[KubeLoopback, FakeObject, Path]:
    pod = FakeObject(api_pod())
    kube.answer("GET", POD_PATH, pod.get)
    kube.answer("PATCH", POD_PATH, pod.patch)
    answer_self_review(
        kube, {"username": "rhea@example.com", "groups": ["incident-response", "system:authenticated"]}
    )
    policies: list[dict[str, Any]] = []

    def create_np(call: Call) -> tuple[int, dict[str, Any]]:
        if policies:
            return status(
                409, "AlreadyExists", 'networkpolicies.networking.k8s.io "podgate-quarantine" already exists'
            )
        policies.append(call.body)
        return 201, {**call.body, "metadata": {**call.body["metadata"], "namespace": "shop", "uid": "np-1"}}

    kube.answer("POST", NP_PATH, create_np)
    return kube, pod, kube.kubeconfig(tmp_path)


def kubectl_body(line: str) -> Any:
    words = shlex.split(line.split("kubectl: ", 1)[1])
    assert words[:2] == ["kubectl", "patch"] and words[words.index("--type") + 1] == "merge"
    return json.loads(words[words.index("-p") + 1])


def test_hold_signs_labels_and_quarantines_and_prints_the_kubectl_lines(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kube, pod, config = cluster
    code = main(
        ["hold", "pod/web", "-n", "shop", "--reason", "INC-4711: beaconing", "--kubeconfig", str(config)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    (patch,) = kube.calls_to("PATCH", POD_PATH)
    assert {k.lower(): v for k, v in patch.headers.items()}["authorization"] == "Bearer loopback-token"
    metadata = patch.body["metadata"]
    assert metadata["labels"] == {"podgate.io/hold": "true"}
    assert metadata["annotations"]["podgate.io/held-by"] == "rhea@example.com"
    assert metadata["annotations"]["podgate.io/hold-reason"] == "INC-4711: beaconing"
    assert metadata["annotations"]["podgate.io/held-at"].endswith("Z")
    assert pod.obj["metadata"]["labels"] == {
        "app": "web",
        "pod-template-hash": "7d9f8c6b5",
        "podgate.io/hold": "true",
    }
    # The printed kubectl line sends exactly the same patch.
    kubectl_line = next(line for line in out.splitlines() if "kubectl patch" in line)
    assert kubectl_body(kubectl_line) == patch.body
    assert "kubectl patch pod/web -n shop --type merge -p" in kubectl_line
    # The quarantine NetworkPolicy, exactly as shipped.
    (create,) = kube.calls_to("POST", NP_PATH)
    shipped = yaml.safe_load((ROOT / "manifests/incident/quarantine-networkpolicy.yaml").read_text())
    assert create.body == shipped
    assert "kubectl apply -n shop -f manifests/incident/quarantine-networkpolicy.yaml" in out
    assert "to lift it: podgate release pod/web -n shop" in out


def test_hold_twice_reports_the_existing_hold(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kube, _pod, config = cluster
    args = ["hold", "web", "-n", "shop", "--reason", "INC-1", "--kubeconfig", str(config)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 1
    assert "is already held by rhea@example.com since" in capsys.readouterr().out
    assert len(kube.calls_to("PATCH", POD_PATH)) == 1


def test_second_namespace_hold_finds_the_quarantine_already_there(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _kube, pod, config = cluster
    assert main(["hold", "pod/web", "-n", "shop", "--reason", "x", "--kubeconfig", str(config)]) == 0
    pod.obj = api_pod()  # another pod, same namespace
    assert main(["hold", "pod/web", "-n", "shop", "--reason", "y", "--kubeconfig", str(config)]) == 0
    assert "podgate-quarantine in namespace shop: already present" in capsys.readouterr().out
    assert (
        main(["hold", "pod/web", "-n", "shop", "--reason", "z", "--no-isolate", "--kubeconfig", str(config)])
        == 1
    )


def test_a_webhook_denial_is_shown_as_the_api_server_sent_it(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kube, pod, config = cluster
    denial = (
        'admission webhook "holds.incident.podgate.io" denied the request: podgate denied the request (1 violation): '
        "only group incident-response may place a forensic hold on pod shop/web"
    )
    pod.refusal = status(403, "Forbidden", denial)
    assert main(["hold", "pod/web", "-n", "shop", "--reason", "x", "--kubeconfig", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"podgate hold: refused: pod/web in namespace shop: {denial}" in out
    assert not kube.calls_to("POST", NP_PATH)


def test_release_removes_label_and_signature(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kube, pod, config = cluster
    assert main(["hold", "pod/web", "-n", "shop", "--reason", "INC-9", "--kubeconfig", str(config)]) == 0
    capsys.readouterr()
    assert main(["release", "pod/web", "-n", "shop", "--kubeconfig", str(config)]) == 0
    out = capsys.readouterr().out
    release = kube.calls_to("PATCH", POD_PATH)[-1]
    assert release.body == {
        "metadata": {
            "labels": {"podgate.io/hold": None},
            "annotations": {
                "podgate.io/hold-reason": None,
                "podgate.io/held-by": None,
                "podgate.io/held-at": None,
            },
        }
    }
    assert pod.obj["metadata"]["labels"] == api_pod()["metadata"]["labels"]
    assert pod.obj["metadata"]["annotations"] == api_pod()["metadata"]["annotations"]
    assert "released pod/web in namespace shop (held by rhea@example.com: INC-9)" in out
    assert kubectl_body(next(line for line in out.splitlines() if "kubectl patch" in line)) == release.body
    assert main(["release", "pod/web", "-n", "shop", "--kubeconfig", str(config)]) == 0
    assert "is not held" in capsys.readouterr().out


def test_workloads_are_held_through_their_own_api(
    kube: KubeLoopback, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment = FakeObject(
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "resourceVersion": "12",
                "labels": {"app": "web"},
            },
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "x"}]},
                },
            },
        }
    )
    kube.answer("GET", DEPLOY_PATH, deployment.get)
    kube.answer("PATCH", DEPLOY_PATH, deployment.patch)
    answer_self_review(kube, {"username": "rhea"})
    config = kube.kubeconfig(tmp_path)
    assert (
        main(
            [
                "hold",
                "deploy/web",
                "-n",
                "shop",
                "--reason",
                "INC-2",
                "--no-isolate",
                "--kubeconfig",
                str(config),
            ]
        )
        == 0
    )
    assert deployment.obj["metadata"]["labels"]["podgate.io/hold"] == "true"
    assert "podgate.io/hold" not in deployment.obj["spec"]["template"]["metadata"]["labels"]  # no rollout
    assert "podgate release deployment/web -n shop" in capsys.readouterr().out


def test_usage_errors(
    cluster: tuple[KubeLoopback, FakeObject, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    kube, _pod, config = cluster
    assert main(["hold", "service/web", "-n", "shop", "--reason", "x", "--kubeconfig", str(config)]) == 2
    assert "name the object as KIND/NAME" in capsys.readouterr().err
    assert main(["hold", "pod/absent", "-n", "shop", "--reason", "x", "--kubeconfig", str(config)]) == 2
    assert "pod/absent in namespace shop not found" in capsys.readouterr().err
    assert main(["hold", "pod/web", "-n", "shop", "--reason", "  ", "--kubeconfig", str(config)]) == 2
    assert main(["release", "pod/web", "--kubeconfig", str(Path(config).parent / "missing")]) == 2
    assert "cannot reach the cluster" in capsys.readouterr().err
    assert not kube.calls_to("PATCH", POD_PATH)


def test_copy_of_the_pod_is_untouched_by_hold_helpers() -> None:
    before = copy.deepcopy(api_pod())
    merge_patch(before, {"metadata": {"labels": {"x": None}}})
    assert before == api_pod()
