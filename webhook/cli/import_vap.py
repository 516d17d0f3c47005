"""`podgate import vap PATH...`: ValidatingAdmissionPolicy + Binding (+ params) as podgate policies.

`podgate lint/evaluate/test` read those manifests directly; `import` writes the podgate policies they
become (one per binding) so they can be read, extended and kept as podgate files. The result is
compiled before it is written: a CEL error is reported with the manifest's file, document and field.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._policies import load_policy_set
from .errors import ExitCode, UsageError
from .export import add_vap_arguments


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="turn native Kubernetes policies into podgate policies",
        description="Turn ValidatingAdmissionPolicy + Binding (+ params) manifests into podgate policies.",
    )
    add_vap_arguments(parser, paths="manifest files or directories", output="the policies")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..policy.loader import Problem, policy_files
    from ..policy.vap.importer import SourceDocument, import_documents, is_vap_document
    from ..policy.yamlio import YamlError, load_documents
    from ._yaml_out import write_documents

    load_policy_set(args.paths)  # compiles every expression: errors name the manifest's own fields
    sources = []
    for file in policy_files(args.paths):
        try:
            documents = load_documents(file)
        except YamlError as exc:  # pragma: no cover - load_policy_set reported it already
            raise UsageError(str(exc)) from None
        for index, document in enumerate(documents):
            if isinstance(document, dict) and document.get("apiVersion") != "podgate.io/v1alpha1":
                sources.append(SourceDocument(document, str(file), index))
    problems: list[Problem] = []
    result = import_documents(
        sources,
        lambda source, path, message: problems.append(Problem(source.file, source.index, path, message)),
    )
    if problems:  # pragma: no cover - load_policy_set reported them already
        raise UsageError("\n".join(map(str, problems)))
    if not any(is_vap_document(s.document) for s in sources):
        raise UsageError("no ValidatingAdmissionPolicy or binding found in " + ", ".join(args.paths))
    write_documents([imported.policy for imported in result.policies], args.output)
    for imported in result.policies:
        print(f"imported: binding {imported.binding.document['metadata']['name']}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return ExitCode.OK
