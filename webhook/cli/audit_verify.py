"""`podgate audit-verify REPORT [--public-key PEM]`: check a JSON audit report's digest and signature."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit-verify",
        help="verify a JSON audit report (digest, and Ed25519 signature with --public-key)",
        description="Recompute the digest of a `podgate audit -o json` report and check its signature.",
        epilog="Exit codes: 0 verified, 1 the report was changed or the signature fails, 2 unreadable.",
    )
    parser.add_argument("report", metavar="REPORT", help="the JSON report")
    parser.add_argument("--public-key", metavar="PEM", help="Ed25519 public (or private) key in PEM")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..audit.evidence import EvidenceError, key_id, load_public_key, verify

    try:
        with open(args.report, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as exc:
        raise UsageError(f"{args.report}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.report}: not a JSON report: {exc}") from None
    key = None
    if args.public_key:
        try:
            key = load_public_key(args.public_key)
        except EvidenceError as exc:
            raise UsageError(f"--public-key {exc}") from None
    problems = verify(report, key)
    if problems:
        for problem in problems:
            print(f"{args.report}: {problem}")
        return ExitCode.FAILED
    integrity = report["integrity"]
    signed = f"; signed by {key_id(key)}" if key is not None else ""
    print(f"ok: {args.report}: sha256 {integrity['digest']}{signed}")
    return ExitCode.OK
