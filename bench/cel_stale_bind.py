"""What the stale-`cel.bind` guard (webhook/policy/cel/stale_bind.py) costs at load, in the same run.

    .venv/bin/python bench/cel_stale_bind.py

Loads the shipped library's export (`podgate export vap`, seven policies with expression rules) with the
guard (each rule's joined program analysed for the hazard) and without it (the analysis replaced by a
no-op), alternating, and prints the median of each and their ratio; then `podgate lint`'s warning pass
over the export against loading it. No request pays anything: the analysis runs at load only.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webhook.policy import load_policies, load_policy_text
from webhook.policy.cel import rules
from webhook.policy.cel.stale_bind_lint import stale_bind_warnings
from webhook.policy.loader import policy_documents
from webhook.policy.vap.exporter import export_documents

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7


def exported_text() -> str:
    docs, _ = policy_documents([ROOT / "policies"])
    return yaml.safe_dump_all(export_documents(docs).documents)


def timed(function: Any) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    text = exported_text()
    real = rules.may_share_a_slot
    with_guard, without = [], []
    load_policy_text(text, "exported.yaml")  # warm the CEL environment
    for _ in range(ROUNDS):
        rules.may_share_a_slot = real
        with_guard.append(timed(lambda: load_policy_text(text, "exported.yaml")))
        rules.may_share_a_slot = lambda root: []
        without.append(timed(lambda: load_policy_text(text, "exported.yaml")))
    rules.may_share_a_slot = real
    a, b = statistics.median(with_guard), statistics.median(without)
    print(f"load the export, guard on : {a * 1000:7.1f} ms (median of {ROUNDS})")
    print(f"load the export, guard off: {b * 1000:7.1f} ms   ratio on/off {a / b:.3f}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exported.yaml"
        path.write_text(text)
        loads = [timed(lambda: load_policies(path)) for _ in range(ROUNDS)]
        warns = [timed(lambda: stale_bind_warnings(path)) for _ in range(ROUNDS)]
    c, d = statistics.median(loads), statistics.median(warns)
    print(f"lint warnings on the export: {d * 1000:7.1f} ms, {d / c:.2f}x loading it ({c * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
