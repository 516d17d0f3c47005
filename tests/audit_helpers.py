"""Builders shared by the audit tests: objects with owners, dumps, and test policy sets in tmp dirs; the
fixtures of the worker tests (`--jobs N`), which a test module takes in as module attributes (see
test_audit_parallel.py)."""

from __future__ import annotations

import copy
import functools
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from conftest import POLICIES, pod

from webhook.audit import parallel

NO_ROOT = POLICIES / "no-root.yaml"

ROOT_OK = {"securityContext": {"runAsNonRoot": True}}


@pytest.fixture(name="workers_allowed", autouse=True)  # named: a module takes it in under another name
def workers_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads other tests left running must not turn the worker tests serial (tests that mean otherwise
    patch `active_count` again)."""
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)


@pytest.fixture(name="small_batches")
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start after 5 objects and take 7 at a time: many batches, round robin, from few objects;
    most items are parsed by the workers."""
    monkeypatch.setattr(parallel, "SERIAL_FIRST", 5)
    monkeypatch.setattr(parallel, "BATCH", 7)


@functools.cache
def bench_audit() -> Any:
    """bench/audit.py, for its realistic pods and kubectl-style dumps (loaded by path: bench/ is not a
    package, and putting it on sys.path would let its modules shadow others)."""
    path = Path(__file__).resolve().parent.parent / "bench" / "audit.py"
    spec = importlib.util.spec_from_file_location("bench_audit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def good_pod(name: str, namespace: str = "shop", **meta: Any) -> dict[str, Any]:
    obj = pod(**ROOT_OK)
    obj["metadata"].update({"name": name, "namespace": namespace, "uid": f"uid-{name}", **meta})
    return obj


def bad_pod(name: str, namespace: str = "shop", **meta: Any) -> dict[str, Any]:
    obj = pod()
    obj["metadata"].update({"name": name, "namespace": namespace, "uid": f"uid-{name}", **meta})
    return obj


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
    ]
    return obj


def templated(kind: str, name: str, template_pod: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    """A controller of `kind` whose pod template is `template_pod`'s metadata and spec."""
    template = {"metadata": {"labels": {"app": name}}, "spec": copy.deepcopy(template_pod["spec"])}
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": template}
    api = {"Job": "batch/v1"}.get(kind, "apps/v1")
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "spec": spec,
    }


def write_policy(
    directory: Path, name: str, *, actions: str = "[Deny]", excluded: str = "[kube-system]"
) -> Path:
    """A no-root policy under another name and actions, in its own directory (a policy set)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(
        f"""apiVersion: podgate.io/v1alpha1
kind: Policy
metadata:
  name: {name}
spec:
  description: Containers must not run as root.
  remediation: Set runAsNonRoot to true.
  actions: {actions}
  match:
    excludedNamespaces: {excluded}
  rules:
    - check: no-root
"""
    )
    return path


def generated_dump(n: int) -> list[dict[str, Any]]:
    """A dump as a cluster holds it: Namespaces, Deployments with ReplicaSets and Pods, lone Pods,
    CronJobs, malformed pods, ConfigMaps; the same few templates over and over, with variations."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}}
    ]
    for i in range(n):
        namespace = ("prod", "dev", "shop", "kube-system")[i % 4]
        base = bad_pod(f"p{i}", namespace) if i % 3 else good_pod(f"p{i}", namespace)
        base["spec"]["containers"][0]["image"] = ("nginx:latest", "registry.example.com/a/b:1", "x")[i % 3]
        if i % 13 == 0:
            base["spec"]["containers"][0]["securityContext"] = {"runAsNonRoot": "yes"}  # malformed
        if i % 5 == 0:
            deployment = templated("Deployment", f"web{i}", base, namespace)
            replicaset = owned_by(templated("ReplicaSet", f"web{i}-1", base, namespace), deployment)
            objects += [deployment, replicaset]
            objects += [owned_by(bad_pod(f"web{i}-1-{k}", namespace), replicaset) for k in range(3)]
        elif i % 5 == 1:
            job = templated("Job", f"job{i}", base, namespace)
            objects.append({**job, "kind": "CronJob", "spec": {"schedule": "@daily", "jobTemplate": job}})
        else:
            objects.append(base)
        if i % 17 == 0:
            objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
        if i == n // 2:  # labels learnt half-way: pods before and after are judged differently
            objects.append(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev", "labels": {"env": "x"}}}
            )
    return objects
