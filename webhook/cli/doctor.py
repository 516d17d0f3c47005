"""`podgate doctor`: refuse a webhook setup that can lock the cluster, with the reasons.

    podgate doctor manifests/overlays/enforce        # a kustomize directory, rendered with kubectl
    kubectl kustomize manifests/overlays/enforce | podgate doctor -
    podgate doctor --cluster [--context NAME]       # what is installed, read with your kubeconfig

Exit 0: no lockout risk (warnings are printed); 1: at least one error; 2: unreadable input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a deployment for cluster-lockout risks",
        description="Check rendered manifests or a live cluster for webhook setups that can lock it.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="manifests, a kustomize directory, or -")
    parser.add_argument(
        "--cert", metavar="FILE", help="the serving certificate, when no TLS Secret is rendered"
    )
    parser.add_argument("--cluster", action="store_true", help="read the installation from the cluster")
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster)"
    )
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--namespace", default="podgate-system", help="podgate's namespace (podgate-system)")
    parser.add_argument("--service", default="podgate", help="podgate's Service (podgate)")
    parser.set_defaults(run=run, command="doctor")


def run(args: argparse.Namespace) -> int:
    from ..deploy.certificates import CertificateError, load_cert
    from ..deploy.cluster import ClusterError, read_installation
    from ..deploy.doctor import RISKS, Installation, diagnose
    from ..deploy.objects import ManifestError, read_objects
    from ..kube_connect import KubeConfigError, api_client

    if bool(args.paths) == bool(args.cluster):
        raise UsageError("give manifest PATHs (or -) or --cluster, not both and not neither")
    try:
        if args.cluster:
            installation = read_installation(
                api_client(kubeconfig=args.kubeconfig, context=args.context).api_client,
                service=args.service,
                namespace=args.namespace,
            )
            source = "the cluster"
        else:
            installation = Installation(read_objects(args.paths))
            source = ", ".join(args.paths)
        if args.cert:
            installation.serving_cert = load_cert(Path(args.cert))
    except (ManifestError, CertificateError, ClusterError, KubeConfigError) as exc:
        raise UsageError(str(exc)) from None
    risks = diagnose(installation)
    for note in installation.notes:
        print(f"note: could not read {note}")
    for found in risks:
        print(found)
    errors = sum(r.level == "error" for r in risks)
    if errors:
        print(f"refused: {errors} lockout risk(s) in {source}; fix them before applying")
        return ExitCode.FAILED
    hooks = len(installation.webhooks())
    print(f"ok: {hooks} webhook(s) in {source} passed {len(RISKS)} lockout checks ({len(risks)} warning(s))")
    return ExitCode.OK
