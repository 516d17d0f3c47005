"""`podgate test PATH...`: run the PolicyTest suites found under the paths (docs/testing-policies.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test",
        help="run policy test suites",
        description=(
            "Run every PolicyTest suite found under the paths. Exit 0 when every case passed, 1 when a case "
            "failed, 2 when a suite or its policies could not be loaded."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="suite files or directories to search")
    parser.add_argument("-o", "--output", choices=("text", "json", "junit"), default="text")
    parser.add_argument("--update", action="store_true", help="rewrite the golden `patched` files")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..suites import SuiteError, discover, load_suite, run_suite
    from ..suites.report import as_data, as_junit, as_text

    out = out or sys.stdout
    files = list(discover(args.paths))
    if not files:
        raise UsageError(f"no PolicyTest suite found under {' '.join(args.paths)}")
    results: list[Any] = []
    errors: list[str] = []
    for file in files:
        try:
            suite = load_suite(file)
        except SuiteError as exc:
            errors.extend(exc.problems)
            continue
        results.append(run_suite(suite, update=args.update))
    if args.output == "json":
        import orjson

        out.write(
            orjson.dumps(as_data(results, errors), option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
        )
    elif args.output == "junit":
        out.write(as_junit(results, errors))
    else:
        out.write(as_text(results, errors))
    if errors:
        return ExitCode.USAGE
    return ExitCode.OK if all(r.passed for r in results) else ExitCode.FAILED
