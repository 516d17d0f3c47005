"""`podgate serve`: the admission webhook over HTTPS (gunicorn), see docs/webhook.md."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import ExitCode, UsageError

DEV_DIR = Path("certs")
DEV_BIND = "127.0.0.1:8443"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the admission webhook over HTTPS",
        description="Run the validating and mutating webhook (gunicorn over TLS). Every flag can also be "
        "set with a PODGATE_* environment variable (e.g. PODGATE_MODE=dry-run); flags win.",
    )
    add = parser.add_argument
    add(
        "--policies",
        action="append",
        type=Path,
        metavar="PATH",
        help="policy file or directory (repeatable; "
        "PODGATE_POLICIES, ':'-separated); default: the shipped library",
    )
    add("--cert", type=Path, metavar="FILE", help="serving certificate, PEM (PODGATE_CERT)")
    add("--key", type=Path, metavar="FILE", help="private key, PEM (PODGATE_KEY)")
    add("--bind", metavar="HOST:PORT", help="listen address (PODGATE_BIND; default 0.0.0.0:8443)")
    add("--workers", type=int, metavar="N", help="worker processes (PODGATE_WORKERS; default 2)")
    add("--threads", type=int, metavar="N", help="threads per worker (PODGATE_THREADS; default 4)")
    add(
        "--mode",
        choices=("enforce", "dry-run"),
        help="enforce, or dry-run: never deny, report (PODGATE_MODE)",
    )
    add(
        "--deadline-ms",
        type=int,
        metavar="MS",
        help="evaluation deadline (PODGATE_DEADLINE_MS; default 2000)",
    )
    add(
        "--decision-log",
        type=Path,
        metavar="FILE",
        help="hash-chained decision log file (PODGATE_DECISION_LOG)",
    )
    add(
        "--kube-api",
        metavar="URL",
        help="API server URL for namespace labels (PODGATE_KUBE_API); "
        "default: in-cluster config, then kubeconfig",
    )
    add(
        "--dev",
        action="store_true",
        help="local development: throwaway CA and certificate under certs/, bind 127.0.0.1:8443, one worker",
    )
    add(
        "--insecure-plaintext",
        action="store_true",
        default=None,
        help="DEVELOPMENT ONLY: serve plain HTTP without TLS (the API server never accepts this)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Any:
    from ..settings import SettingsError, from_env, with_overrides

    try:
        settings = from_env()
        if args.dev:
            settings = with_overrides(settings, {"bind": DEV_BIND, "workers": 1})
        settings = with_overrides(
            settings,
            {
                "policies": tuple(args.policies) if args.policies else None,
                "cert": args.cert,
                "key": args.key,
                "bind": args.bind,
                "workers": args.workers,
                "threads": args.threads,
                "mode": args.mode,
                "deadline_ms": args.deadline_ms,
                "decision_log": args.decision_log,
                "kube_api": args.kube_api,
                "insecure_plaintext": args.insecure_plaintext,
            },
        )
        if args.dev and not settings.insecure_plaintext and settings.cert is None:
            settings = with_overrides(settings, dev_certificates(DEV_DIR, settings.bind))
        return settings.check()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def dev_certificates(out: Path, bind: str) -> dict[str, Path]:
    """A throwaway CA and a serving certificate for localhost, and instructions to trust it."""
    from ..certs import write_certificates

    files = write_certificates(out, dns_names=["localhost"], ip_addresses=["127.0.0.1", "::1"], days=30)
    sample = out / "sample-review.json"
    sample.write_text(SAMPLE_REVIEW, encoding="utf-8")
    port = bind.rpartition(":")[2]
    print(
        f"podgate serve --dev: throwaway CA {files.ca_cert} and serving certificate {files.cert} "
        "(localhost, 127.0.0.1; 30 days).\n"
        f"Trust it per request with --cacert {files.ca_cert} (never add a dev CA to your system store).\n"
        "Send a sample review (a Pod that may run as root, denied by the no-root policy):\n"
        f"  curl --cacert {files.ca_cert} -H 'Content-Type: application/json' "
        f"--data @{sample} https://127.0.0.1:{port}/validate\n"
        f"  curl --cacert {files.ca_cert} https://127.0.0.1:{port}/readyz\n",
        file=sys.stderr,
        flush=True,
    )
    return {"cert": files.cert, "key": files.key}


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    preflight(settings)
    # Before anything imports prometheus_client: every worker writes its metrics here, /metrics sums them.
    owned_dir = None
    master_pid = os.getpid()
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        owned_dir = tempfile.mkdtemp(prefix="podgate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = owned_dir
    try:
        from ..reloading import ReloadingTLS
        from ..server import WebhookServer

        tls = None
        if settings.insecure_plaintext:
            print(
                "podgate serve: WARNING: plain HTTP (--insecure-plaintext), for development only",
                file=sys.stderr,
            )
        else:
            assert settings.cert is not None and settings.key is not None
            tls = ReloadingTLS(settings.cert, settings.key, interval=settings.reload_interval)
        WebhookServer(settings, tls).run()
        return ExitCode.OK
    finally:
        # Worker processes leave through here too (gunicorn's SystemExit after fork): only the master
        # that made the directory removes it.
        if owned_dir and os.getpid() == master_pid:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(owned_dir, ignore_errors=True)


def preflight(settings: Any) -> None:
    """Refuse to start, with every problem listed, rather than serve nothing."""
    import ssl

    from ._policies import load_policy_set

    load_policy_set(
        [str(path) for path in settings.policies], failure="refusing to start: the policies do not load"
    )
    if not settings.insecure_plaintext:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(settings.cert), str(settings.key))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"cannot load the TLS certificate {settings.cert} and key {settings.key}: {exc}"
            ) from None


SAMPLE_REVIEW = """{
  "apiVersion": "admission.k8s.io/v1",
  "kind": "AdmissionReview",
  "request": {
    "uid": "0d2a6e4b-5f3c-4e55-9a57-3c1f8f6b2a01",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"},
    "name": "web",
    "namespace": "default",
    "operation": "CREATE",
    "userInfo": {"username": "dev", "groups": ["system:authenticated"]},
    "object": {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "web", "namespace": "default"},
      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    },
    "oldObject": null,
    "dryRun": false
  }
}
"""
