"""Kubernetes objects read from rendered manifests: files, stdin, or a kustomize directory.

A directory holding a kustomization is rendered with `kubectl kustomize` (kubectl's built-in kustomize),
so `podgate doctor manifests/overlays/enforce` judges exactly what `kubectl apply -k` would send.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..policy.yamlio import YamlError, load_documents_text

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class ManifestError(ValueError):
    """Manifests that cannot be read; the message names the source."""


@dataclass(frozen=True)
class K8sObject:
    source: str  # file, "-" or the kustomize directory, with the document index
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace", ""))

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def kustomize(directory: Path) -> str:
    kubectl = shutil.which("kubectl") or str(Path(sys.executable).with_name("kubectl"))
    if not Path(kubectl).exists():
        raise ManifestError(
            f"{directory}: a kustomization needs kubectl to render; install it or pipe "
            f"`kubectl kustomize {directory}` into this command with `-`"
        )
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ManifestError(f"{directory}: kubectl kustomize failed: {done.stderr.strip()}")
    return done.stdout


def parse(text: str, source: str) -> list[K8sObject]:
    try:
        documents = load_documents_text(text, source)
    except YamlError as exc:
        raise ManifestError(str(exc)) from None
    found: list[K8sObject] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict) or "kind" not in document:
            raise ManifestError(f"{source}: document {index}: not a Kubernetes object (no `kind`)")
        items = document.get("items") if str(document["kind"]).endswith("List") else None
        if isinstance(items, list):  # `kubectl get -o yaml` prints a List
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ManifestError(f"{source}: document {index}: items[{i}] is not an object")
                found.append(K8sObject(f"{source}: document {index}: items[{i}]", item))
        else:
            found.append(K8sObject(f"{source}: document {index}", document))
    return found


def read_objects(paths: Iterable[str], *, stdin_text: str | None = None) -> list[K8sObject]:
    objects: list[K8sObject] = []
    for given in paths:
        path = Path(given)
        if given == "-":
            objects += parse(stdin_text if stdin_text is not None else sys.stdin.read(), "-")
        elif path.is_dir() and any((path / name).exists() for name in KUSTOMIZATION_FILES):
            objects += parse(kustomize(path), str(path))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
                objects += parse(_read(file), str(file))
        elif path.is_file():
            objects += parse(_read(path), str(path))
        else:
            raise ManifestError(f"{given}: no such file or directory")
    return objects


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (byte {exc.start})") from None
