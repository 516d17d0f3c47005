"""`podgate log verify FILE`: check the hash chain of a decision log and its rotated files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("log", help="work with the decision log", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the hash chain of a decision log",
        description="Verify every entry's hash and the chain between entries, through the rotated files "
        "(FILE.N ... FILE.1, FILE). Prints the last hash: record it elsewhere to detect truncation later.",
    )
    verify.add_argument("path", type=Path, metavar="FILE", help="the decision log (e.g. decisions.jsonl)")
    verify.add_argument("--only", action="store_true", help="this file only, not its rotated predecessors")
    verify.add_argument(
        "--key-env",
        default="PODGATE_DECISION_LOG_KEY",
        metavar="VAR",
        help="environment variable holding the HMAC key, if the log is keyed",
    )
    verify.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..decisionlog import chain_files, verify

    files = [args.path] if args.only else chain_files(args.path)
    if not files or not all(f.is_file() for f in files):
        raise UsageError(f"{args.path}: no such decision log")
    try:
        result = verify(files, key=os.environ.get(args.key_env, ""))
    except OSError as exc:
        raise UsageError(f"{args.path}: cannot read: {exc.strerror or exc}") from None
    for problem in result.problems:
        print(problem)
    names = ", ".join(str(f) for f in files)
    if result.ok:
        print(f"ok: {result.entries} entries in {names}; last hash {result.last_hash}")
        return ExitCode.OK
    print(f"TAMPERED: {len(result.problems)} problem(s) in {result.entries} entries of {names}")
    return ExitCode.FAILED
