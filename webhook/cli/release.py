"""`podgate release KIND/NAME`: lift a forensic hold (the incident-response group only).

Removes the hold label and its signature annotations in one merge patch, and prints the equivalent
kubectl line. The quarantine NetworkPolicy stays: it selects only held pods, so a released pod is no
longer isolated.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._cluster import ApiRefusal, add_target_arguments
from .errors import ExitCode


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="lift a forensic hold",
        description="Lift a forensic hold placed by `podgate hold` (incident-response group only).",
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policy.checks.forensic_hold import (
        HELD_BY_ANNOTATION,
        HOLD_ANNOTATIONS,
        HOLD_LABEL,
        REASON_ANNOTATION,
        is_held,
    )
    from ._cluster import Cluster, kubectl_patch, metadata_of, parse_target

    kind, name = parse_target(args.target)
    cluster = Cluster(args)
    ns = cluster.namespace
    try:
        labels, annotations = metadata_of(cluster.read(kind, name))
        if not is_held({"labels": labels}):
            print(f"{kind.name}/{name} in namespace {ns} is not held")
            return ExitCode.OK
        metadata: dict[str, Any] = {
            "labels": {HOLD_LABEL: None},
            "annotations": dict.fromkeys(HOLD_ANNOTATIONS),
        }
        cluster.patch_metadata(kind, name, metadata)
    except ApiRefusal as exc:
        print(f"podgate release: refused: {exc}")
        return ExitCode.FAILED
    print(
        f"released {kind.name}/{name} in namespace {ns} (held by {annotations.get(HELD_BY_ANNOTATION, '?')}: "
        f"{annotations.get(REASON_ANNOTATION, '')})"
    )
    print(f"  kubectl: {kubectl_patch(kind, name, ns, metadata)}")
    return ExitCode.OK
