"""YAML output for generated manifests: block style, keys in the order written, no anchors."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from .errors import UsageError


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_documents(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return ""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=True)


def write_documents(documents: list[dict[str, Any]], output: str | None) -> None:
    """The manifests to `output` (a file path) or, without one, to stdout."""
    text = dump_documents(documents)
    if not output:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror or exc}") from None
