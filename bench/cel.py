"""CEL rules next to the built-in checks they mirror, on the same pods, in the same run.

    .venv/bin/python bench/cel.py

For each pod (a small `kubectl run` pod that violates no-root, and a realistic compliant Deployment):
µs per rule for the built-in `no-root` check, the exported no-root CEL policy (`podgate export vap`,
read back as the API server would run it) and a hand-written CEL rule an author would write; then the
whole `evaluate()` for each. Ratios are against the built-in check measured in the same run (the
machine is shared and noisy: compare ratios, not absolute figures). The issue's target: an expression
rule costs at most 10x its built-in equivalent.
"""

from __future__ import annotations

import json
import sys
import timeit
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.inputs import review_request  # noqa: E402
from webhook.policy import evaluate, load_policies, load_policy_text  # noqa: E402
from webhook.policy.document import PolicyDocument  # noqa: E402
from webhook.policy.podspec import pod_view  # noqa: E402
from webhook.policy.vap.exporter import export_documents  # noqa: E402
from webhook.policy.yamlio import load_documents  # noqa: E402

SHARED = ROOT.parent / "shared" / "fixtures" / "admission"
HAND_WRITTEN = """\
apiVersion: podgate.io/v1alpha1
kind: Policy
metadata: {name: cel-no-root}
spec:
  description: no root, in CEL
  remediation: run as non-root
  rules:
    - name: no-root
      variables:
        - name: containers
          expression: >-
            (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])
            + variables.podSpec.containers
            + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])
        - name: podNonRoot
          expression: >-
            has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsNonRoot)
            && variables.podSpec.securityContext.runAsNonRoot
      validations:
        - expression: >-
            variables.containers.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot)
            ? c.securityContext.runAsNonRoot : variables.podNonRoot)
          message: containers must run as a non-root user
        - expression: >-
            !(has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsUser)
            && variables.podSpec.securityContext.runAsUser == 0)
            && variables.containers.all(c, !(has(c.securityContext) && has(c.securityContext.runAsUser)
            && c.securityContext.runAsUser == 0))
          message: nothing may run as user 0
"""


def per_call_us(fn: Any, number: int) -> float:
    """Best of 5 repeats (the least disturbed by the other core's load), in µs per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    builtin = load_policies(ROOT / "policies" / "no-root.yaml")
    docs = [PolicyDocument.model_validate(d) for d in load_documents(ROOT / "policies" / "no-root.yaml")]
    exported = load_policy_text(yaml.safe_dump_all(export_documents(docs).documents), "exported.yaml")
    hand = load_policy_text(HAND_WRITTEN, "hand.yaml")
    sets = {
        "built-in check no-root": builtin,
        "exported no-root (VAP CEL)": exported,
        "hand-written CEL no-root": hand,
    }
    print(f"python {sys.version.split()[0]}; µs per call, best of 5 repeats; ratio vs the built-in check")
    print("  cold: the first CEL rule of a request (converts the request into CEL values)")
    print("  warm: every further CEL rule of the same request (the conversion is shared)\n")
    for fixture in ("pod-create-kubectl-run.json", "deployment-create.json"):
        request = review_request(json.loads((SHARED / fixture).read_text()))
        request = replace(request, namespace_labels={"kubernetes.io/metadata.name": "default"})
        assert request.object is not None
        pod = pod_view(request.object, request.kind)
        assert pod is not None
        allowed = {name: evaluate(s, request).allowed for name, s in sets.items()}
        assert len(set(allowed.values())) == 1, allowed  # the same decision, or the figures mean nothing
        size = len(json.dumps(request.object))
        print(f"{fixture}  ({size} bytes, allowed={allowed['built-in check no-root']})")
        print(f"  {'':28s} {'rule warm':>17s} {'rule cold':>17s} {'evaluate()':>17s}")
        base: list[float] = []
        for name, policy_set in sets.items():
            rule = policy_set.policies[0].rules[0]
            figures = []
            if rule.run_request is None:
                run = rule.run
                figures.append(per_call_us(lambda run=run, pod=pod: list(run(pod)), 20000))
                figures.append(figures[0])
            else:
                call = rule.run_request
                same = request
                figures.append(per_call_us(lambda c=call, p=pod, r=same: list(c(p, r)), 5000))
                figures.append(per_call_us(lambda c=call, p=pod, r=same: list(c(p, replace(r))), 2000))
            # A new Request per call, as the webhook has: nothing carries over between requests.
            figures.append(per_call_us(lambda s=policy_set, r=request: evaluate(s, replace(r)), 2000))
            base = base or figures
            cells = "".join(f"{f:9.1f} ({f / b:4.1f}x)" for f, b in zip(figures, base, strict=True))
            print(f"  {name:28s} {cells}")
        print()


if __name__ == "__main__":
    main()
