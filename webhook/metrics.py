"""Prometheus metrics of the webhook.

Under gunicorn every worker is a process: `podgate serve` sets PROMETHEUS_MULTIPROC_DIR before this
module is imported, each worker writes its samples there, and /metrics sums them over all workers
(`MultiProcessCollector`); the master marks a dead worker's files in `child_exit`. Without that
variable (tests with the Flask client, one process) the default registry is served.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# From 0.25 ms: a pod spec is judged in well under a millisecond; the tail is what matters.
LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter(
    "podgate_requests",
    "Admission requests answered, by endpoint, operation, kind and decision",
    ["endpoint", "operation", "kind", "decision", "mode", "dry_run"],
)
LATENCY = Histogram(
    "podgate_request_duration_seconds",
    "Time to answer an admission request, from body read to response built",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
VIOLATIONS = Counter(
    "podgate_violations", "Policy violations found, by policy and action", ["policy", "action"]
)
WOULD_DENY = Counter(
    "podgate_would_deny", "Requests that would have been denied but were let through in dry-run", ["policy"]
)
BAD_REQUESTS = Counter("podgate_bad_requests", "Calls rejected before judging, by HTTP status", ["status"])
ERRORS = Counter(
    "podgate_evaluation_errors", "Evaluations that failed or ran past the deadline", ["endpoint", "reason"]
)
SESSIONS = Counter(
    "podgate_sessions",
    "exec, attach, port-forward and debug sessions seen by /validate, by action and decision",
    ["action", "decision"],
)
POLICY_RELOADS = Counter("podgate_policy_reloads", "Policy set loads, by result", ["result"])
POLICIES_LOADED = Gauge(
    "podgate_policies_loaded", "Policies in the set being served", multiprocess_mode="max"
)
CERT_EXPIRY = Gauge(
    "podgate_certificate_expiry_timestamp_seconds",
    "When the serving certificate expires (Unix time)",
    multiprocess_mode="max",
)


_Metric = TypeVar("_Metric", Counter, Gauge, Histogram)
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: _Metric, *values: str) -> _Metric:
    """`metric.labels(*values)` (values in the order the labels are declared), looked up once.

    `labels` validates and locks on every call, a cost per request that buys nothing the second time;
    the children it returns are kept by the metric anyway, so remembering them here adds no series.
    """
    key = (id(metric), values)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*values)
    return found


def render() -> tuple[bytes, str]:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
