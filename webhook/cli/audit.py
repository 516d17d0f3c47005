"""`podgate audit`: judge what already exists (manifests, dumps, stdin or a live cluster) without admitting.

    podgate audit dump.json                       # kubectl get pods,deploy,... -A -o json > dump.json
    podgate audit manifests/ -o sarif > podgate.sarif
    podgate audit --cluster -o policyreport | kubectl apply -f -
    podgate audit --compare policies-old/ policies-new/ dump.yaml   # what a change would newly break

Exit codes: 0 nothing at or above --fail-on, 1 something is (newly, with --compare), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from ._policies import load_policy_set
from .errors import ExitCode, UsageError

FAIL_ON = ("deny", "warn", "audit", "never")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="audit existing objects (files, dumps, stdin or a live cluster) against a policy set",
        description="Judge existing objects with the same engine as the webhook, without admitting anything.",
        epilog="Exit codes: 0 nothing at or above --fail-on, 1 something is, 2 usage or input error.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help='manifest files or directories; "-" is stdin'
    )
    parser.add_argument(
        "-p", "--policies", action="append", metavar="PATH", help="policy files or directories (repeatable)"
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="two policy sets: list objects that newly fail, newly pass, and still fail under NEW",
    )
    live = parser.add_argument_group("live cluster")
    live.add_argument("--cluster", action="store_true", help="list objects from the cluster in kubeconfig")
    live.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    live.add_argument("--context", help="kubeconfig context")
    live.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    live.add_argument("-n", "--namespace", help="only this namespace (default: all)")
    live.add_argument("--page-size", type=_positive_int, default=500, help="objects per list page (limit)")
    live.add_argument("--qps", type=_positive_float, default=5.0, help="at most this many list requests/s")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", default="text", choices=_formats(), help="report format")
    out.add_argument("--output-file", metavar="FILE", help="write the report here instead of stdout")
    out.add_argument("--fail-on", default="deny", choices=FAIL_ON, help="exit 1 when an object fails at this")
    out.add_argument("--top", type=_positive_int, default=10, help="worst offenders in the text summary")
    out.add_argument(
        "--max-report-results", type=_positive_int, default=500, help="PolicyReport: results per namespace"
    )
    out.add_argument("--sign-key", metavar="PEM", help="Ed25519 private key: sign the JSON report")
    speed = parser.add_argument_group("speed")
    speed.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="judge in N worker processes while this one reads (default: one per core; 1: no worker;"
        " inputs under a few hundred objects never start one)",
    )
    loop = parser.add_argument_group("continuous audit")
    loop.add_argument("--interval", metavar="DURATION", help="keep auditing every DURATION (30s, 10m, 1h)")
    loop.add_argument(
        "--listen", default="0.0.0.0:9102", metavar="HOST:PORT", help="serve /metrics and /report here"
    )
    loop.add_argument("--runs", type=_positive_int, help="with --interval: stop after this many runs")
    parser.set_defaults(run=run)


def _formats() -> tuple[str, ...]:
    from ..audit.formats import FORMATS

    return FORMATS


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def run(args: argparse.Namespace) -> int:
    from ..audit.evidence import EvidenceError, load_private_key

    if args.compare and args.policies:
        raise UsageError("give either --policies or --compare OLD NEW, not both")
    if not args.paths and not args.cluster:
        raise UsageError("nothing to audit: give manifest PATHs (or - for stdin), or --cluster")
    if args.paths and args.cluster:
        raise UsageError("audit either manifest PATHs or --cluster, not both")
    live_only = [flag for flag, given in (("--namespace", args.namespace), ("--kubeconfig", args.kubeconfig),
                 ("--context", args.context), ("--in-cluster", args.in_cluster)) if given]  # fmt: skip
    if live_only and not args.cluster:
        raise UsageError(f"{', '.join(live_only)} only apply with --cluster")
    if args.interval and "-" in args.paths:
        raise UsageError("--interval re-reads its inputs every run: stdin (-) cannot be audited continuously")
    signing_key = None
    if args.sign_key:
        try:
            signing_key = load_private_key(args.sign_key)
        except EvidenceError as exc:
            raise UsageError(f"--sign-key {exc}") from None

    old = _load(args.compare[0], "OLD") if args.compare else None
    policies = _load(args.compare[1], "NEW") if args.compare else load_policy_set(args.policies)
    if args.interval:
        return _continuous(args, policies, old, signing_key)

    result, context = _audit_once(args, policies, old, signing_key)
    if args.output_file:
        try:
            with Path(args.output_file).open("wb") as out:
                _write(args.output, context, out)
        except OSError as exc:
            raise UsageError(f"--output-file {args.output_file}: {exc.strerror or exc}") from None
    else:
        stdout = getattr(sys.stdout, "buffer", None)
        if stdout is None:  # a text-only stream (tests, embedding): no byte stream to write to
            sys.stdout.write(_render(args.output, context))
        else:
            sys.stdout.flush()
            _write(args.output, context, stdout)
            stdout.flush()
    return _exit_code(args.fail_on, result)


def _audit_once(args: argparse.Namespace, policies: Any, old: Any, signing_key: Any) -> tuple[Any, Any]:
    from ..audit.evidence import policy_set_evidence, source_evidence, utc
    from ..audit.formats.context import ReportContext
    from ..audit.parallel import AuditWorkerError, default_jobs
    from ..audit.run import audit, audit_paths
    from ..audit.stream import SourceDigest
    from ..inputs import InputError

    evidence: dict[str, Any] = {"policySet": policy_set_evidence(policies)}
    if old is not None:
        evidence["previousPolicySet"] = policy_set_evidence(old)
    digests: list[SourceDigest] = []
    jobs = args.jobs or default_jobs()
    try:
        if args.cluster:
            from ..audit.cluster import ClusterError, ClusterSource

            try:
                listing = ClusterSource.connect(
                    kubeconfig=args.kubeconfig,
                    context=args.context,
                    in_cluster=args.in_cluster,
                    namespace=args.namespace,
                    page_size=args.page_size,
                    qps=args.qps,
                )
                labels = listing.namespace_labels()
                result = audit(
                    listing.objects(), policies, old_policies=old, namespace_labels=labels, jobs=jobs
                )
            except ClusterError as exc:
                raise UsageError(str(exc)) from None
            evidence["inputs"] = {"cluster": listing.evidence()}
        else:
            result = audit_paths(args.paths, policies, old_policies=old, jobs=jobs, digests=digests)
            evidence["inputs"] = source_evidence(digests)
    except (InputError, AuditWorkerError) as exc:
        raise UsageError(str(exc)) from None
    evidence["startedAt"] = utc(result.started)
    evidence["finishedAt"] = utc(result.finished)
    context = ReportContext(
        result=result,
        evidence=evidence,
        top=args.top,
        max_results_per_report=args.max_report_results,
        extra={"signing_key": signing_key},
    )
    return result, context


def _continuous(args: argparse.Namespace, policies: Any, old: Any, signing_key: Any) -> int:
    import signal
    import threading

    from ..audit.continuous import AuditState, parse_duration, run_forever, serve

    try:
        interval = parse_duration(args.interval)
    except ValueError as exc:
        raise UsageError(f"--interval {exc}") from None
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT, e.g. 0.0.0.0:9102")
    state = AuditState()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a pod being stopped ends the loop cleanly

    def once() -> tuple[Any, str]:
        result, context = _audit_once(args, policies, old, signing_key)
        return result, _render("json", context)

    try:
        with serve(state, host or "0.0.0.0", int(port)) as (bound_host, bound_port):
            print(
                f"podgate audit: serving /metrics and /report on {bound_host}:{bound_port}", file=sys.stderr
            )
            run_forever(state, once, interval, stop, max_runs=args.runs)
    except OSError as exc:
        raise UsageError(f"--listen {args.listen}: {exc.strerror or exc}") from None
    return ExitCode.OK


def _renderer(output: str) -> Any:
    import importlib

    module = "json_report" if output == "json" else output
    return importlib.import_module(f"webhook.audit.formats.{module}")


def _render(output: str, context: Any) -> str:
    return str(_renderer(output).render(context))


def _write(output: str, context: Any, out: IO[bytes]) -> None:
    """Stream the report where the format allows it (large reports are never held whole)."""
    renderer = _renderer(output)
    if hasattr(renderer, "write"):
        renderer.write(context, out)
    else:
        out.write(str(renderer.render(context)).encode("utf-8"))


def _exit_code(fail_on: str, result: Any) -> int:
    if fail_on == "never":
        return ExitCode.OK
    action = {"deny": "Deny", "warn": "Warn", "audit": "Audit"}[fail_on]
    judged = result.newly_failing() if result.compare else result.failing
    return ExitCode.FAILED if result.count_at_least(action, judged) else ExitCode.OK


def _load(path: str, label: str) -> Any:
    from ..policy import PolicyLoadError, load_policies

    try:
        return load_policies(path)
    except PolicyLoadError as exc:
        raise UsageError(f"{label} policy set: {exc}") from None
