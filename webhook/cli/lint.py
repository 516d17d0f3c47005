"""`podgate lint PATH...`: load policies exactly as the webhook would and report every problem."""

from __future__ import annotations

import argparse
from typing import Any

from .errors import ExitCode


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lint", help="check policy files", description="Load policies strictly and report every problem."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="policy files or directories")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policy import PolicyLoadError, load_policies
    from ..policy.cel.schema_lint import schema_warnings
    from ..policy.cel.stale_bind_lint import stale_bind_warnings

    try:
        policies = load_policies(*args.paths)
    except PolicyLoadError as exc:
        for problem in exc.problems:
            print(problem)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found")
        return ExitCode.USAGE
    noun = "policies" if len(policies) != 1 else "policy"
    print(f"ok: {len(policies)} {noun} from {len(policies.sources)} file(s)")
    for warning in stale_bind_warnings(*args.paths):  # they load, and run: what the runtime may get wrong
        print(warning)
    for warning in schema_warnings(*args.paths):  # what the API server's type check would warn about
        print(warning)
    return ExitCode.OK
