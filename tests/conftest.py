"""Shared fixtures: paths, the shared admission samples, and small object builders."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "admission"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Property tests draw the same examples on every run (CI must be deterministic) and keep no example
# database between runs; to explore afresh: pytest --hypothesis-profile=default.
settings.register_profile("podgate", derandomize=True, database=None)
settings.load_profile("podgate")


def shared_review(name: str) -> dict[str, Any]:
    """One of the read-only AdmissionReview samples in ../shared (a fresh copy, safe to change)."""
    with open(SHARED_FIXTURES / name, encoding="utf-8") as f:
        return dict(json.load(f))


def pod(**spec: Any) -> dict[str, Any]:
    """A minimal Pod with one container "app"; keyword arguments are merged into `spec`."""
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "default", "labels": {"app": "app"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/acme/app:1.0"}]},
    }
    obj["spec"].update(copy.deepcopy(spec))
    return obj


@pytest.fixture(autouse=True)
def _clean_podgate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from PODGATE_* variables; tests start with none set."""
    import os

    for key in list(os.environ):
        if key.startswith("PODGATE_"):
            monkeypatch.delenv(key)


@pytest.fixture(params=[True, False], ids=["fast path", "runtime"])
def cel_fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Expression rules judged with the CEL fast path on, then with cel-expr-python alone."""
    from webhook.policy.cel import rules

    monkeypatch.setattr(rules, "FAST_PATH", request.param)
    return bool(request.param)


@contextmanager
def cel_fast_path_as(on: bool) -> Iterator[None]:
    """Expression rules judged with the CEL fast path `on` or off within the block."""
    from webhook.policy.cel import rules

    saved = rules.FAST_PATH
    rules.FAST_PATH = on
    try:
        yield
    finally:
        rules.FAST_PATH = saved
