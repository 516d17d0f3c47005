"""The HTTP layer: a Flask app factory, thin over the engine.

    POST /validate   AdmissionReview -> allowed / denied (403) with warnings and audit annotations
    POST /mutate     AdmissionReview -> allowed, with a JSONPatch when a mutation applies
    GET  /healthz    the process answers
    GET  /readyz     policies and certificate loaded; names what is missing or degraded
    GET  /metrics    Prometheus

Every answer to a call that is not a usable AdmissionReview is JSON `{"error", "status"}` with 400, 413
or 415; nothing ever answers with a traceback. What happens per request is in docs/webhook.md.

/validate, per request: a request no loaded policy could judge (`judging.py`) is answered at once;
otherwise the namespace labels and, for requests that only name their pod (exec, attach,
port-forward, eviction), the held-pod cache's knowledge of that pod complete it before `evaluate`.
Every session (exec, attach, port-forward, debug) is recorded in its decision-log line, judged or not.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from . import metrics
from .decisionlog import DecisionLog
from .held_pods import HeldPodCache
from .namespaces import NamespaceCache
from .policy import DeadlineExceeded, Decision, PolicySet, Request, evaluate, mutate
from .policy.sessions import session_record
from .reloading import LoadedPolicies, PolicyStore, ReloadingTLS
from .review import Review, ReviewError, answer, decode_json, parse_review
from .settings import Settings

log = logging.getLogger("podgate.webhook")
decisions_log = logging.getLogger("podgate.decisions")


@dataclasses.dataclass
class Runtime:
    """What the app serves from; everything that changes at run time lives here."""

    settings: Settings
    store: PolicyStore
    tls: ReloadingTLS | None = None
    namespaces: NamespaceCache | None = None
    held_pods: HeldPodCache | None = None
    held_pods_unavailable: str = ""  # why no held-pod cache runs although the policies need one
    decision_file: DecisionLog | None = None


def create_app(settings: Settings, *, tls: ReloadingTLS | None = None, watch: bool = True) -> Flask:
    """The WSGI app for one worker process: loads policies, starts the watchers, registers routes."""
    store = PolicyStore(settings.policies, interval=settings.reload_interval)
    runtime = Runtime(settings=settings, store=store, tls=tls)
    if settings.decision_log is not None:
        runtime.decision_file = DecisionLog(
            settings.decision_log,
            max_bytes=settings.decision_log_max_bytes,
            backups=settings.decision_log_backups,
            key=settings.decision_log_key,
        )
    if watch:
        _start_watchers(runtime)

    app = Flask("podgate")
    app.extensions["podgate"] = runtime

    @app.post("/validate")
    def validate() -> Response:
        return _admission(runtime, "validate")

    @app.post("/mutate")
    def mutate_endpoint() -> Response:
        return _admission(runtime, "mutate")

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        body = readiness(runtime)
        return _json(body, 200 if body["ready"] else 503)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        data, content_type = metrics.render()
        return Response(data, content_type=content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        metrics.BAD_REQUESTS.labels(status=str(code)).inc()
        return _error(code, _http_message(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # a bug: log it, never show a traceback to the caller
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the webhook's log")

    return app


def _start_watchers(runtime: Runtime) -> None:
    settings = runtime.settings

    def reload_loop() -> None:
        while True:
            time.sleep(settings.reload_interval)
            try:
                runtime.store.maybe_reload()
                _ensure_held_pods(runtime)  # a reloaded set may now judge sessions or evictions
                if runtime.tls is not None:
                    runtime.tls.context()  # notices a rotated certificate even when nobody connects
            except Exception:  # keep watching whatever happens: the last good state keeps serving
                log.exception("reload check failed")

    _ensure_held_pods(runtime)
    threading.Thread(target=reload_loop, name="podgate-reload", daemon=True).start()
    if settings.namespace_labels:
        from .namespaces import api_client

        client = api_client(settings.kube_api)
        if client is None:
            log.warning("no cluster configuration: namespace labels are not available")
        else:
            runtime.namespaces = NamespaceCache(client)
            runtime.namespaces.start()


def _ensure_held_pods(runtime: Runtime) -> None:
    """Start this worker's held-pod cache once the policy set judges requests that only name a pod.

    Started at most once per worker (a later set without such policies leaves it running: it costs one
    watch on held pods); never on the request path.
    """
    current = runtime.store.current
    if runtime.held_pods is not None or current is None or not current.judged.needs_held_pods:
        return
    if runtime.held_pods_unavailable:  # looked for a cluster already: none
        return
    from kubernetes import client

    from .namespaces import api_client

    api = api_client(runtime.settings.kube_api)
    if api is None:
        runtime.held_pods_unavailable = "no cluster configured"
        log.warning("no cluster configuration: held pods are not known; %s", _HELD_UNKNOWN)
        return
    cache = HeldPodCache(client.CoreV1Api(api))
    cache.start()
    runtime.held_pods = cache


def readiness(runtime: Runtime) -> dict[str, Any]:
    missing: list[str] = []
    degraded: list[str] = []
    current = runtime.store.current
    if current is None:
        missing.append(f"policies: no policy set loaded: {runtime.store.error}")
    elif runtime.store.error:
        degraded.append(f"policies: the last reload failed, serving the last good set: {runtime.store.error}")
    if runtime.tls is not None and runtime.tls.error:
        degraded.append(f"certificate: {runtime.tls.error}; serving the previous certificate")
    needs_labels = current is not None and any(p.needs_namespace_labels for p in current.policies)
    cache = runtime.namespaces
    if cache is None:
        if needs_labels:
            degraded.append(
                "namespace labels: no cluster configured; namespaceSelector policies use failurePolicy"
            )
    elif not cache.synced:
        degraded.append(f"namespace labels: not synced yet {cache.error}".rstrip())
    held_pods = _held_pods_state(runtime, current)
    if held_pods["state"] in ("unavailable", "syncing"):
        degraded.append(f"held pods: {held_pods['detail']}")
    return {
        "ready": not missing,
        "missing": missing,
        "degraded": degraded,
        "policies": list(current.policies.names) if current else [],
        "mode": runtime.settings.mode,
        "certificateExpires": runtime.tls.not_after if runtime.tls else None,
        "heldPods": held_pods,
    }


def _held_pods_state(runtime: Runtime, current: LoadedPolicies | None) -> dict[str, Any]:
    """`synced` (with how many pods are held), `syncing`, `unavailable` or `not-needed`."""
    cache = runtime.held_pods
    if cache is not None:
        if cache.synced:
            return {"state": "synced", "held": len(cache.held())}
        return {"state": "syncing", "detail": f"the held-pod cache has not synced yet; {_HELD_UNKNOWN}"}
    if current is not None and current.judged.needs_held_pods:
        reason = runtime.held_pods_unavailable or "the held-pod cache is not started"
        return {"state": "unavailable", "detail": f"{reason}; {_HELD_UNKNOWN}"}
    return {"state": "not-needed"}


_HELD_UNKNOWN = "exec, attach, port-forward and evictions of pods are judged per failurePolicy"


def _admission(runtime: Runtime, endpoint: str) -> Response:
    started = time.perf_counter()
    if request.mimetype != "application/json":
        metrics.BAD_REQUESTS.labels(status="415").inc()
        return _error(415, f"Content-Type is {request.content_type or 'missing'!r}: send application/json")
    body = _read_body(runtime.settings.max_body_bytes)
    if body is None:
        metrics.BAD_REQUESTS.labels(status="413").inc()
        return _error(413, _TOO_LARGE)
    try:
        review = parse_review(decode_json(body))
    except ReviewError as exc:
        metrics.BAD_REQUESTS.labels(status=str(exc.status)).inc()
        return _error(exc.status, exc.message)
    if runtime.settings.log_bodies:
        # INFO, the level the webhook logs at: the operator asked for the bodies, so they must show.
        log.info("request %s body: %s", review.uid, body.decode(errors="replace"))

    settings = runtime.settings
    labels = runtime.namespaces.labels(review.request.namespace) if runtime.namespaces else None
    judged = dataclasses.replace(review.request, namespace_labels=labels)
    mode = settings.mode
    if labels is not None and labels.get(settings.dry_run_label) == "dry-run":
        mode = "dry-run"  # this namespace is being rolled out
    loaded = runtime.store.current
    if endpoint == "validate":
        passed = loaded.judged.pass_through(judged) if loaded else ""
        if passed:  # nothing in the set could judge it: no cache lookup, no engine
            judgement = Decision(allowed=True, notes=(passed,))
            body_out, entry = answer(review, allowed=True), _decision_entry(judgement)
        else:
            if runtime.held_pods is not None:
                judged = runtime.held_pods.complete(judged)
            body_out, entry, judgement = _validate(review, judged, loaded, settings, mode)
        _add_session(entry, judged, judgement, review, mode)
    else:
        body_out, entry = _mutate(review, judged, loaded.policies if loaded else None)

    response = body_out["response"]
    decision = "allow" if response["allowed"] else "deny"
    if entry.get("wouldDeny"):
        decision = "would-deny"
    elapsed = time.perf_counter() - started
    metrics.child(metrics.LATENCY, endpoint).observe(elapsed)
    dry_run = "true" if judged.dry_run else "false"
    metrics.child(metrics.REQUESTS, endpoint, judged.operation, review.kind, decision, mode, dry_run).inc()
    _record(runtime, review, endpoint, mode, response, entry, elapsed)
    return _json(body_out)


def _read_body(limit: int) -> bytes | None:
    """The body, or None when it is over `limit` (Content-Length or chunked alike).

    An over-limit body is read and thrown away up to a few times the limit first, so that the client,
    still sending, receives the 413 instead of a reset connection; past that the connection is dropped.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        if declared <= _DRAIN_FACTOR * limit:
            _drain(declared)
        return None
    if declared is not None:  # the usual case (the API server sends Content-Length): one read
        return request.get_data(cache=False)
    stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            _drain(_DRAIN_FACTOR * limit - size)
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _drain(budget: int) -> None:
    stream = request.stream
    while budget > 0 and (chunk := stream.read(min(budget, 64 * 1024))):
        budget -= len(chunk)


def _add_session(
    entry: dict[str, Any], request_: Request, decision: Decision, review: Review, mode: str
) -> None:
    """Exec, attach, port-forward and debug: the session record joins the request's decision-log line."""
    record = session_record(request_, decision, uid=review.uid)
    if record is None:
        return
    # The line's own `allowed` (the answer given: allowed in dry-run, with `wouldDeny`) and details win.
    for key, value in record.items():
        if key != "allowed":
            entry.setdefault(key, value)
    outcome = "allow" if decision.allowed else "would-deny" if mode == "dry-run" else "deny"
    metrics.child(metrics.SESSIONS, record["action"], outcome).inc()


def _validate(
    review: Review, request_: Request, loaded: LoadedPolicies | None, settings: Settings, mode: str
) -> tuple[dict[str, Any], dict[str, Any], Decision]:
    """The answer, the decision-log details, and the decision (made up when evaluation failed)."""
    if loaded is None:
        message = "podgate has no policy set loaded; denied (fail closed)"
        body = answer(review, allowed=False, message=message)
        return body, {"error": message}, Decision(allowed=False, notes=(message,))
    deadline = time.monotonic() + settings.deadline_seconds
    try:
        decision = evaluate(loaded.policies, request_, deadline=deadline)
    except DeadlineExceeded as exc:
        metrics.ERRORS.labels(endpoint="validate", reason="deadline").inc()
        problem = f"evaluation ran past its {settings.deadline_ms} ms deadline: {exc}"
        return _failure(review, loaded.judged.fail_closed, problem, mode)
    except Exception as exc:  # an engine bug: fail per the policies, never a 500
        metrics.ERRORS.labels(endpoint="validate", reason="exception").inc()
        log.exception("evaluation of request %s failed", review.uid)
        problem = f"evaluation failed: {type(exc).__name__}: {exc}"
        return _failure(review, loaded.judged.fail_closed, problem, mode)

    # One increment per (policy, action), not per violation: a denied pod has many of the same kind.
    for (policy, action), count in Counter(
        (v.policy, action) for v in decision.violations for action in v.actions
    ).items():
        metrics.child(metrics.VIOLATIONS, policy, action).inc(count)
    entry = _decision_entry(decision)
    warnings = list(decision.warnings)
    annotations = dict(decision.audit_annotations)
    if decision.allowed:
        body = answer(review, allowed=True, warnings=warnings, audit_annotations=annotations)
        return body, entry, decision
    if mode == "dry-run":
        denials = decision.denials
        for policy in dict.fromkeys(v.policy for v in denials):
            metrics.child(metrics.WOULD_DENY, policy).inc()
        entry["wouldDeny"] = True
        dry = [f"[dry-run] would deny: {v.message}" for v in denials]
        annotations["would-deny"] = decision.deny_message()
        body = answer(review, allowed=True, warnings=dry + warnings, audit_annotations=annotations)
        return body, entry, decision
    message = decision.deny_message()
    body = answer(review, allowed=False, message=message, warnings=warnings, audit_annotations=annotations)
    return body, entry, decision


def _failure(
    review: Review, failing: tuple[str, ...], problem: str, mode: str
) -> tuple[dict[str, Any], dict[str, Any], Decision]:
    """Evaluation did not finish: deny if a denying policy says failurePolicy Fail, else let through."""
    log.error("request %s: %s", review.uid, problem)
    entry: dict[str, Any] = {"error": problem}
    if failing and mode != "dry-run":
        message = (
            f"podgate could not judge the request ({problem}); denied because failurePolicy is Fail for: "
            + ", ".join(failing)
        )
        return (
            answer(review, allowed=False, message=message),
            entry,
            Decision(allowed=False, notes=(problem,)),
        )
    entry["wouldDeny"] = bool(failing)
    warning = f"podgate could not judge the request ({problem}); allowed"
    return answer(review, allowed=True, warnings=[warning]), entry, Decision(allowed=True, notes=(problem,))


def _mutate(
    review: Review, request_: Any, policies: PolicySet | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    if policies is None:
        return answer(review, allowed=True, warnings=["podgate has no policy set loaded; not mutated"]), {}
    try:
        result = mutate(policies, request_)
    except Exception as exc:  # a mutator bug: the object goes on unchanged; validation still judges it
        metrics.ERRORS.labels(endpoint="mutate", reason="exception").inc()
        log.exception("mutation of request %s failed", review.uid)
        warning = f"podgate could not mutate the object ({type(exc).__name__}); left unchanged"
        return answer(review, allowed=True, warnings=[warning]), {"error": str(exc)}
    entry = {
        "mutations": list(result.applied),
        "patch": {"operations": len(result.patch), "paths": [op["path"] for op in result.patch][:50]},
    }
    return answer(review, allowed=True, patch=result.patch), entry


# A pod with thousands of bad containers must not write megabytes per request into the log (a way to
# fill the disk, and seconds of work past the deadline); the count of what was left out is kept.
MAX_LOGGED_VIOLATIONS = 200


def _decision_entry(decision: Decision) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "outcomes": {name: str(status) for name, status in decision.outcomes.items()},
        "violations": [
            {"policy": v.policy, "rule": v.rule, "path": v.path, "actions": list(v.actions)}
            for v in decision.violations[:MAX_LOGGED_VIOLATIONS]
        ],
        "notes": list(decision.notes),
    }
    if len(decision.violations) > MAX_LOGGED_VIOLATIONS:
        entry["violationsLeftOut"] = len(decision.violations) - MAX_LOGGED_VIOLATIONS
    return entry


def _record(
    runtime: Runtime,
    review: Review,
    endpoint: str,
    mode: str,
    response: Mapping[str, Any],
    details: dict[str, Any],
    elapsed: float,
) -> None:
    """One decision-log line: stdout always, the hash-chained file when configured."""
    request_ = review.request
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
        "uid": review.uid,
        "endpoint": endpoint,
        "user": request_.user.username,
        "operation": request_.operation,
        "kind": review.kind,
        "subResource": request_.subresource,
        "namespace": request_.namespace or "",
        "name": review.name,
        "allowed": bool(response["allowed"]),
        "mode": mode,
        "dryRun": request_.dry_run,
        "durationMs": round(elapsed * 1000, 3),
        **details,
    }
    decisions_log.info(orjson.dumps(entry).decode())
    if runtime.decision_file is not None:
        try:
            runtime.decision_file.append(entry)
        except OSError as exc:  # a full disk must not take admission down; it is loud in the log
            log.error("cannot write the decision log %s: %s", runtime.decision_file.path, exc)


def _json(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message, "status": status}, status)


def _http_message(exc: HTTPException) -> str:
    if exc.code == 413:
        return _TOO_LARGE
    if exc.code == 405:
        return f"method {request.method} is not allowed on {request.path}"
    if exc.code == 404:
        return f"no such endpoint {request.path}: use /validate, /mutate, /healthz, /readyz or /metrics"
    return str(exc.description or exc.name)


_DRAIN_FACTOR = 4
_TOO_LARGE = "the request body is over the size limit (3 MiB, like the API server's own object limit)"


def configure_logging(level: str = "INFO") -> None:
    """Structured logs: one JSON object per line on stderr; decisions as JSON lines on stdout."""

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            data = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
            data["message"] = record.getMessage()
            if record.exc_info:
                data["exception"] = self.formatException(record.exc_info)
            return orjson.dumps(data).decode()

    root = logging.getLogger("podgate")
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.propagate = False
    if not decisions_log.handlers:
        out = logging.StreamHandler(sys.stdout)
        out.setFormatter(logging.Formatter("%(message)s"))
        decisions_log.addHandler(out)
        decisions_log.propagate = False
        decisions_log.setLevel(logging.INFO)
