"""`podgate webhook-config`: write the webhook configurations and policy ConfigMaps under manifests/.

The rules are derived from the policy set, so the API server sends only what the policies judge;
`--check` exits 1 with a diff when the committed manifests no longer match the policies (run it in CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "webhook-config",
        help="generate the webhook configurations from the policies",
        description="Derive the webhook rules (kinds, operations, subresources) and the policy ConfigMaps "
        "from the policy set and write them under the manifests directory.",
    )
    parser.add_argument("--policies", default="policies", metavar="DIR", help="policy directory (policies)")
    parser.add_argument("--manifests", default="manifests", metavar="DIR", help="kustomize tree (manifests)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 with a diff if the files are out of date")
    mode.add_argument("--stdout", action="store_true", help="print the webhook configurations only")
    parser.set_defaults(run=run, command="webhook-config")


def run(args: argparse.Namespace) -> int:
    from ..deploy.webhook_config import (
        GenerationError,
        drift,
        generated_files,
        load_policy_dir,
        render,
        webhook_configurations,
    )
    from ..policy import PolicyLoadError
    from ..policy.yamlio import YamlError
    from ._policies import load_failure

    policy_dir, manifests = Path(args.policies), Path(args.manifests)
    if not policy_dir.is_dir():
        raise UsageError(f"{policy_dir}: not a directory of policies")
    try:
        policies, texts = load_policy_dir(policy_dir)  # each file read once, for the set and the ConfigMaps
    except PolicyLoadError as exc:
        raise load_failure(exc, "the policy set does not load, nothing generated") from None
    except GenerationError as exc:
        raise UsageError(str(exc)) from None
    try:
        if args.stdout:
            sys.stdout.write(render(webhook_configurations(policies)))
            return ExitCode.OK
        files = generated_files(policies, texts)
    except (GenerationError, YamlError) as exc:
        raise UsageError(str(exc)) from None
    if not (manifests / "base").is_dir():
        raise UsageError(f"{manifests}: no base/ folder; is this podgate's manifests directory?")
    if args.check:
        diffs = drift(files, manifests)
        for diff in diffs:
            sys.stdout.write(diff)
        if diffs:
            print(f"{len(diffs)} generated file(s) out of date: run `podgate webhook-config` and commit them")
            return ExitCode.FAILED
        print(f"ok: {len(files)} generated files match {len(policies)} policies")
        return ExitCode.OK
    for generated in files:
        path = manifests / generated.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generated.text, encoding="utf-8")
        print(f"wrote {path}")
    return ExitCode.OK
