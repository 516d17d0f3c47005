"""The CEL implementations on PyPI, on the same expression and objects, in the same run.

    .venv/bin/pip install common-expression-language cel-python   # the two not chosen
    .venv/bin/python bench/cel_candidates.py

For each candidate: whether it has what Kubernetes policies need (the strings extension, member
functions defined in Python, type-checked compile errors with a position), compile time, and µs per
evaluation of a typical container rule against a new request (the request converted into the
library's values each time, as the webhook must), on a small Pod and a realistic Deployment.
Ratios are against cel-expr-python, measured in the same run.
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

# bench/cel.py would shadow common-expression-language's `cel` module: import from site-packages only.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "admission"
EXPRESSION = (
    "object.spec.template.spec.containers.all(c, has(c.securityContext)"
    " && has(c.securityContext.runAsNonRoot) && c.securityContext.runAsNonRoot == true)"
)
FEATURES = {
    "strings ext": "'Ab'.lowerAscii() == 'ab'",
    "list macros": "[1, 2].all(x, x > 0) && [1, 2].exists_one(x, x == 2)",
    "optional": "{'a': 1}.?b.orValue(2) == 2",
}


def per_call_us(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def cel_expr_python() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_optional, ext_strings

    env = cel.NewEnv(
        variables={"object": cel.Type.DYN}, extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()]
    )
    return env.compile, lambda program, data: program.eval(env.Activation(data)).value()


def common_expression_language() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    import cel

    return cel.compile, lambda program, data: program.execute(cel.Context(data))


def cel_python() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    import celpy

    env = celpy.Environment()

    def run(program: Any, data: dict[str, Any]) -> Any:
        return program.evaluate({k: celpy.json_to_cel(v) for k, v in data.items()})

    return lambda source: env.program(env.compile(source)), run


CANDIDATES = {
    "cel-expr-python": cel_expr_python,
    "common-expression-language": common_expression_language,
    "cel-python": cel_python,
}


def main() -> None:
    objects = {}
    for name in ("pod-create-kubectl-run.json", "deployment-create.json"):
        obj = json.loads((SHARED / name).read_text())["request"]["object"]
        if obj["kind"] == "Pod":  # the same expression for both: wrap the pod spec as a template
            obj = {"kind": "Pod", "spec": {"template": {"spec": obj["spec"]}}}
        objects[name] = obj
    base: dict[str, float] = {}
    for candidate, load in CANDIDATES.items():
        try:
            compile_, run = load()
        except ImportError:
            print(f"{candidate}: not installed (pip install {candidate})\n")
            continue
        print(candidate)
        for feature, source in FEATURES.items():
            try:
                ok = bool(run(compile_(source), {"object": {}}) == True)  # noqa: E712  (celpy has its own bool)
            except Exception as exc:  # a missing feature is a compile or evaluation error
                ok, source = False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
            print(f"  {feature:12s} {'yes' if ok else 'no  (' + source + ')'}")
        try:
            compile_("object.spec.(")
            print("  compile error: none raised")
        except Exception as exc:
            print(f"  compile error: {str(exc).splitlines()[0][:90]}")
        compile_us = per_call_us(lambda c=compile_: c(EXPRESSION), 200)
        print(f"  compile {compile_us:9.1f} µs")
        program = compile_(EXPRESSION)
        for name, obj in objects.items():
            data = {"object": obj}
            number = 50 if candidate == "cel-python" else 1000
            us = per_call_us(lambda p=program, d=data, r=run: r(p, d), number)
            base.setdefault(name, us)
            print(f"  {name:30s} {us:9.1f} µs per evaluation ({us / base[name]:5.1f}x)")
        print()


if __name__ == "__main__":
    main()
