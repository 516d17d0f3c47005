"""`podgate export vap PATH...`: podgate policies as ValidatingAdmissionPolicy + Binding manifests.

The manifests (YAML, on stdout or `-o FILE`) are a fail-closed floor for the API server: only what CEL
expresses exactly is exported; the report (stderr) lists what was exported and what was left to the
webhook, and why. `--strict` exits 1 when anything was left out.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._policies import load_policy_set
from .errors import ExitCode


def add_vap_arguments(parser: Any, *, paths: str, output: str) -> None:
    """The arguments `export vap` and `import vap` share: the format, the inputs and `-o FILE`."""
    parser.add_argument("format", choices=["vap"], help="vap: ValidatingAdmissionPolicy + Binding")
    parser.add_argument("paths", nargs="+", metavar="PATH", help=paths)
    parser.add_argument("-o", "--output", metavar="FILE", help=f"write {output} here (default: stdout)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write podgate policies as native Kubernetes policies",
        description="Write the parts of podgate policies that CEL can express as native Kubernetes objects.",
    )
    add_vap_arguments(parser, paths="policy files or directories", output="the manifests")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any policy or rule was left out")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policy.loader import policy_documents
    from ..policy.vap.exporter import export_documents
    from ._yaml_out import write_documents

    load_policy_set(args.paths)  # the same strict checks as the webhook, every problem at once
    documents, native = policy_documents(args.paths)
    result = export_documents(documents)
    write_documents(result.documents, args.output)
    report = sys.stderr
    for exported in result.exported:
        print(f"exported: {exported}", file=report)
    for left in result.left_out:
        print(f"left to the webhook: {left}", file=report)
    if native:
        print(f"skipped: {native} document(s) that are already native Kubernetes objects", file=report)
    return ExitCode.FAILED if args.strict and result.left_out else ExitCode.OK
