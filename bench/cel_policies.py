"""Every shipped policy next to its export as ValidatingAdmissionPolicy CEL, on the same requests.

    .venv/bin/python bench/cel_policies.py

bench/cel.py looks closely at one rule (no-root); this puts every policy that exports through the
same test: for each shipped policy with a translation, `evaluate()` of the built-in policy and of its
export (`podgate export vap`, read back as the API server would run it), on a small violating
kubectl-run Pod and a realistic compliant Deployment, each call on a new request. Ratios are against
the built-in policy measured in the same rounds (bench/cel.py's `measure`: interleaved rounds, this
thread's CPU time), so they hold on a busy machine. The issue's target: an expression rule costs at
most 10x its built-in equivalent.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cel import SHARED, TARGET, fresh_requests, measure  # noqa: E402

from webhook.inputs import review_request  # noqa: E402
from webhook.policy import evaluate, load_policies, load_policy_text  # noqa: E402
from webhook.policy.document import PolicyDocument  # noqa: E402
from webhook.policy.loader import policy_files  # noqa: E402
from webhook.policy.vap.exporter import export_documents  # noqa: E402
from webhook.policy.yamlio import load_documents  # noqa: E402

FIXTURES = ("pod-create-kubectl-run.json", "deployment-create.json")
CALLS = 200


def main() -> None:
    pairs = []  # (name, built-in policy set, exported policy set)
    for path in policy_files([ROOT / "policies"]):  # as `podgate export vap policies/` reads them
        docs = [PolicyDocument.model_validate(d) for d in load_documents(path)]
        exported = export_documents(docs).documents
        if not any(d.get("kind") == "ValidatingAdmissionPolicy" for d in exported):
            continue  # nothing CEL can express (state outside the object)
        pairs.append(
            (
                docs[0].metadata.name,
                load_policies(path),
                load_policy_text(yaml.safe_dump_all(exported), "x.yaml"),
            )
        )
    print(f"python {sys.version.split()[0]}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("µs of CPU time per evaluate() of one policy on a new request, best of the rounds;")
    print("ratio: the export against the built-in policy of the same rounds\n")
    misses = []
    for fixture in FIXTURES:
        request = review_request(json.loads((SHARED / fixture).read_text()))
        cases = {}
        for name, builtin, exported in pairs:
            for which, policies in (("built-in", builtin), ("export", exported)):
                next_request = fresh_requests(request)
                cases[(name, which)] = (lambda p=policies, n=next_request: evaluate(p, n()), CALLS)
        figures = measure(cases)
        print(f"{fixture}")
        print(f"  {'policy':26s} {'built-in':>9s} {'export':>9s}  ratio")
        for name, _, _ in pairs:
            base, cel = figures[(name, "built-in")], figures[(name, "export")]
            ratio = cel / base
            print(
                f"  {name:26s} {base:9.1f} {cel:9.1f}  {ratio:5.1f}x{'' if ratio <= TARGET else '  MISSES'}"
            )
            if ratio > TARGET:
                misses.append(f"{name} on {fixture}")
        print()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if misses:
        print(f"VERDICT: over {TARGET:.0f}x its built-in policy: {', '.join(misses)} (load average {load})")
    else:
        print(f"VERDICT: every export within {TARGET:.0f}x its built-in policy (load average {load})")


if __name__ == "__main__":
    main()
