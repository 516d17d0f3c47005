"""`podgate evaluate FILE... | -`: judge manifests (or AdmissionReviews) against a policy set.

Each object is judged as the cluster would judge it: a plain manifest as a CREATE in its own namespace,
an AdmissionReview with its own operation, userInfo, oldObject, subresource and dryRun. With `--mutate`
the mutations run first and the patched object is validated, as the API server runs mutating admission
before validating admission.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from ._policies import load_policy_set
from .errors import ExitCode, UsageError

if TYPE_CHECKING:
    from ..inputs import InputObject
    from ..policy import Decision, MutationResult, PolicySet


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="judge manifests against policies",
        description=(
            "Judge every object in the files (YAML or JSON, multi-document, kind: List, AdmissionReview) "
            "against the policies. Exit 0 when everything is allowed, 1 when anything is denied, 2 on a "
            "usage or input error."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files or directories; - for stdin")
    parser.add_argument(
        "-p",
        "--policies",
        action="append",
        metavar="PATH",
        help="policy file or directory (repeatable; default: the shipped library)",
    )
    parser.add_argument("--mutate", action="store_true", help="apply mutations first; show the patch")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    parser.add_argument(
        "--namespace-labels",
        metavar="K=V,...",
        type=parse_labels,
        help="labels of the objects' namespace, for policies with a namespaceSelector",
    )
    parser.set_defaults(run=run)


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value pairs separated by commas, got {pair!r}")
        labels[key] = value
    return labels


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..inputs import InputError

    out = out or sys.stdout
    policies = load_policy_set(args.policies)
    counts = {"allowed": 0, "denied": 0}
    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    for item in _inputs(args.files, args.namespace_labels, errors, InputError):
        entry = judge(policies, item, mutate=args.mutate)
        counts["allowed" if entry["allowed"] else "denied"] += 1
        if args.output == "table":
            out.write(render_entry(entry, show_patch=args.mutate))
        else:
            entries.append(entry)
    if args.output == "json":
        import orjson

        out.write(
            orjson.dumps(entries, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode()
            + "\n"
        )
    elif args.output == "yaml":
        import yaml

        yaml.dump(entries, out, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True)
    else:
        total = counts["allowed"] + counts["denied"]
        out.write(f"{total} object{'s' if total != 1 else ''}: {counts['allowed']} allowed, ")
        unread = f"; {len(errors)} input error{'s' if len(errors) != 1 else ''} (below)" if errors else ""
        out.write(f"{counts['denied']} denied{unread}\n")
    if errors:
        raise UsageError("\n".join(errors))
    return ExitCode.FAILED if counts["denied"] else ExitCode.OK


def _inputs(
    files: list[str], labels: Mapping[str, str] | None, errors: list[str], input_error: type[Exception]
) -> Iterator[InputObject]:
    """Every object of every file; a file that cannot be read is reported and the others still run."""
    from ..inputs import read_inputs

    for file in files:
        try:
            yield from read_inputs([file], namespace_labels=labels)
        except input_error as exc:
            errors.append(str(exc))


def judge(policies: PolicySet, item: InputObject, *, mutate: bool) -> dict[str, Any]:
    """One object's verdict as plain data (what `-o json` prints)."""
    import dataclasses

    from ..policy import evaluate
    from ..policy import mutate as run_mutations

    request = item.request
    mutation: MutationResult | None = None
    if mutate:
        mutation = run_mutations(policies, request)
        if mutation.patch:
            request = dataclasses.replace(request, object=mutation.object)
    decision = evaluate(policies, request)
    return describe(item, decision, mutation)


def describe(item: InputObject, decision: Decision, mutation: MutationResult | None) -> dict[str, Any]:
    obj = item.request.object or {}
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    entry: dict[str, Any] = {
        "source": item.source,
        "document": item.document,
        "item": item.item,
        "kind": item.request.kind or obj.get("kind"),
        "namespace": item.request.namespace or metadata.get("namespace"),
        "name": metadata.get("name") or metadata.get("generateName"),
        "operation": item.request.operation,
        "allowed": decision.allowed,
        "violations": [v.as_dict() for v in decision.violations],
        "warnings": list(decision.warnings),
        "auditAnnotations": dict(decision.audit_annotations),
        "notes": list(decision.notes),
    }
    if mutation is not None:
        entry["patch"] = mutation.patch
        entry["patched"] = mutation.object if mutation.patch else None
    return entry


def render_entry(entry: Mapping[str, Any], *, show_patch: bool) -> str:
    """The human form: one line per object, then its violations, warnings, annotations and patch."""
    where = f"{entry['source']}: document {entry['document']}"
    if entry["item"] is not None:
        where += f": items[{entry['item']}]"
    name = (
        f"{entry['namespace']}/{entry['name']}" if entry["namespace"] else str(entry["name"] or "(unnamed)")
    )
    lines = [f"{'ALLOWED' if entry['allowed'] else 'DENIED '}  {entry['kind']} {name}  ({where})"]
    for v in entry["violations"]:
        lines.append(f"  {'/'.join(v['actions'])}  {v['policy']}/{v['rule']}  at {v['path']}")
        lines.append(f"      {v['message']}")
    lines += [f"  warning: {w}" for w in entry["warnings"]]
    lines += [f"  audit {key}: {value}" for key, value in entry["auditAnnotations"].items()]
    lines += [f"  note: {n}" for n in entry["notes"] if entry["violations"]]
    if show_patch and entry.get("patch"):
        import orjson

        lines.append("  patch:")
        lines += [f"    {orjson.dumps(op, default=str).decode()}" for op in entry["patch"]]
    return "\n".join(lines) + "\n"


def _yaml_dumper() -> Any:
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)
