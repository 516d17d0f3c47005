"""The `podgate` command line: one sub-command per module, each over the same engine.

Every module here that defines `register(subparsers)` is a sub-command (so adding a command is adding a
file): `register` adds its parser and sets `run`, a function of the parsed arguments returning an exit
code. Modules import their heavy dependencies inside `run`,
so `podgate evaluate` starts fast. Errors the user can fix are reported as one clear message and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from .. import __version__
from .errors import ExitCode, UsageError


def command_modules() -> list[str]:
    """The sub-command modules, alphabetically (the order `podgate --help` lists them)."""
    names = (m.name for m in pkgutil.iter_modules(__path__))
    return [name for name in names if not name.startswith("_") and name != "errors"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podgate",
        description="Kubernetes admission policies for every pod spec: validate, mutate, test, audit.",
        epilog="Exit codes: 0 allowed/ok, 1 denied/failed, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"podgate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"podgate {args.command}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `podgate evaluate ... | head`
        return ExitCode.OK
