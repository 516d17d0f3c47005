"""`podgate hold KIND/NAME --reason TEXT`: place a forensic hold (and quarantine the held pods).

Labels the object `podgate.io/hold=true` and signs the hold (who, when, why) in its annotations, in one
merge patch; the forensic-hold policy then refuses every delete, eviction, change and session but the
incident-response group's. Unless `--no-isolate`, makes sure the quarantine NetworkPolicy (deny all
traffic of held pods) exists in the namespace. Prints what it did and the equivalent kubectl lines.
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from ._cluster import ApiRefusal, add_target_arguments
from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "hold",
        help="freeze a pod or workload for investigation (forensic hold)",
        description="Place a forensic hold: only the incident-response group may delete, evict, change or "
        "exec into the object until it is released.",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--reason", required=True, help="why, e.g. the incident ticket (shown in every denial)"
    )
    parser.add_argument(
        "--no-isolate", action="store_true", help="do not create the quarantine NetworkPolicy"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policy.checks.forensic_hold import (
        HELD_AT_ANNOTATION,
        HELD_BY_ANNOTATION,
        HOLD_LABEL,
        HOLD_VALUE,
        REASON_ANNOTATION,
        is_held,
        release_command,
    )
    from ._cluster import QUARANTINE_MANIFEST, Cluster, kubectl_patch, metadata_of, parse_target

    reason = " ".join(args.reason.split())
    if not reason:
        raise UsageError("--reason must say why (e.g. the incident ticket)")
    kind, name = parse_target(args.target)
    cluster = Cluster(args)
    ns = cluster.namespace
    try:
        labels, annotations = metadata_of(cluster.read(kind, name))
        if is_held({"labels": labels}):
            by = annotations.get(HELD_BY_ANNOTATION, "an unnamed responder")
            since = annotations.get(HELD_AT_ANNOTATION, "an unknown time")
            print(f"{kind.name}/{name} in namespace {ns} is already held by {by} since {since}: ", end="")
            print(annotations.get(REASON_ANNOTATION, ""))
            return ExitCode.FAILED
        by = cluster.username()
        at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        metadata = {
            "labels": {HOLD_LABEL: HOLD_VALUE},
            "annotations": {REASON_ANNOTATION: reason, HELD_BY_ANNOTATION: by, HELD_AT_ANNOTATION: at},
        }
        cluster.patch_metadata(kind, name, metadata)
        print(f"held {kind.name}/{name} in namespace {ns} (by {by} at {at}: {reason})")
        print(f"  kubectl: {kubectl_patch(kind, name, ns, metadata)}")
        if not args.no_isolate:
            created = cluster.ensure_quarantine()
            state = "created" if created else "already present"
            print(f"quarantine NetworkPolicy podgate-quarantine in namespace {ns}: {state}")
            print(f"  kubectl: kubectl apply -n {ns} -f {QUARANTINE_MANIFEST}")
            if kind.name != "pod":
                print(f"  note: it isolates pods labelled {HOLD_LABEL}={HOLD_VALUE}: ", end="")
                print(f"hold the pods of {kind.name}/{name} too")
    except ApiRefusal as exc:
        print(f"podgate hold: refused: {exc}")
        return ExitCode.FAILED
    print(f"to lift it: {release_command(kind.name, name, ns)}")
    return ExitCode.OK
