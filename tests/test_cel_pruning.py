"""CEL rules convert only what they can observe (cel/demand.py) and bind variables to identifiers:
the results, the findings and the errors must be exactly those of converting everything."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from conftest import ROOT, pod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cel_rules import decide, policy
from test_vap_export import FIXTURES, NATIVE, with_namespace_labels

from webhook.policy import Request, load_policies, load_policy_text
from webhook.policy.cel import rules
from webhook.policy.cel.ast import Call, Const, CreateList, Ident, Select, UnknownSyntax, checked_expression
from webhook.policy.cel.demand import FULL, KIND, NONE, Elements, Fields, join, prune
from webhook.policy.cel.library import admission_env
from webhook.policy.podspec import pod_view

# Each shape the analysis treats on its own, and what it must fall back to FULL for.
EXPRESSIONS = [
    "object.a == 1",
    "has(object.a)",
    "has(object.a.b)",
    "object.a.b.c",
    "object.a != null",
    "null == object.a.b",
    "object.a == null ? 1 : object.b",
    "object.l.all(x, x.k == 1)",
    "object.l.exists(x, has(x.k))",
    "object.l.map(x, x.k)",
    "object.l.map(x, has(x.k), x.a)",
    "object.l.filter(x, x != null)",
    "object.l.filter(x, has(x.k)).size()",
    "object.l.exists_one(x, x.k == 1)",
    "size(object.l)",
    "object.l.size() + object.a.size()",
    "object.l + object.m",
    "(object.l + object.m).all(x, has(x.k) && x.k != null)",
    "size(object.l + object.m)",
    "(object.l + object.m) != null",
    "object['a']",
    "object['a']['b'] == object.a.b",
    "object.l[0].k",
    "object.l[1]",
    "object.?a.orValue(0)",
    "object.?a.?b.hasValue()",
    "object.a in [1, 'x']",
    "'k' in object.a",
    "object.a.all(k, k == 'x')",
    "cel.bind(v, object.a, v.b)",
    "cel.bind(v, object.a, has(v.b) ? v.b : v)",
    "{'x': object.a, 'y': object.b}.x",
    "has({'x': object.a, 'y': object.b}.y)",
    "[object.a, object.b][0]",
    "[object.a, object.b].size()",
    "dyn(object.a).b",
    "object == {'a': 1}",
    "string(object.a)",
    "type(object.a) == map",
    "object.l.map(x, x.k).filter(y, y == 1).size() == 1",
    "object.l.all(x, object.m.exists(y, x == y))",
    "object.l.all(x, object.m.all(y, has(x.k) || has(y.a)))",
    "object.a.b.size() > 0 && object.c.d",
    "object.a.b + object.a.c",
    "object.a.b.startsWith('x')",
    "object.a.exists(k, object.a[k] == 1)",
    "variables.podSpec.containers.all(c, c.image.startsWith('x'))",
    "request.operation == 'CREATE' && request.userInfo.username == 'a'",
    "oldObject == null || oldObject.a == object.a",
    "params.max > size(object.l)",
    "namespaceObject.metadata.labels.team == 'x'",
]

KEYS = st.sampled_from(["a", "b", "c", "d", "k", "l", "m", "x"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["x", "y", "ab"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=5)


def outcome(program: Any, data: dict[str, Any]) -> tuple[str, Any]:
    result = program.eval(admission_env().Activation(data))
    return result.type().name(), result.plain_value()


def pruned(demands: tuple[tuple[str, Any], ...], data: dict[str, Any]) -> dict[str, Any]:
    return {name: prune(data[name], demand) for name, demand in demands}


PROGRAMS = [
    (source, program, rules._demands_of(program))
    for source, program in ((s, admission_env().compile(s)) for s in EXPRESSIONS)
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=OBJECTS, old=OBJECTS, params=OBJECTS)
def test_pruned_values_give_the_results_and_errors_of_whole_values(
    obj: dict[str, Any], old: dict[str, Any], params: dict[str, Any]
) -> None:
    data = {
        "object": obj,
        "oldObject": old,
        "request": {"operation": "CREATE", "userInfo": {"username": "a", "groups": []}, "x": obj},
        "params": params,
        "namespaceObject": {"metadata": {"labels": obj}},
        "variables": {"podSpec": {"containers": [obj, old]}, "podMetadata": obj},
    }
    for source, program, demands in PROGRAMS:
        assert demands != rules.EVERYTHING, source
        assert outcome(program, pruned(demands, data)) == outcome(program, data), source


def test_the_analysis_keeps_only_what_is_observed() -> None:
    def of(source: str) -> dict[str, Any]:
        return dict(rules._demands_of(admission_env().compile(source)))

    spec = of(
        "variables.podSpec.containers.all(c, has(c.securityContext) && c.securityContext.runAsUser == 0)"
    )
    assert spec == {
        "variables": Fields(
            (
                (
                    "podSpec",
                    Fields(
                        (
                            (
                                "containers",
                                Elements(Fields((("securityContext", Fields((("runAsUser", FULL),))),))),
                            ),
                        )
                    ),
                ),
            )
        )
    }
    assert of("object.a != null") == {"object": Fields((("a", KIND),))}
    assert of("has(object.a)") == {"object": Fields((("a", NONE),))}
    assert of("object == null") == {"object": KIND}
    assert of("object.a.all(k, true)") == {"object": Fields((("a", Elements(NONE)),))}
    assert of("object.a.exists(k, object.a[k] == 1)")["object"] == Fields((("a", FULL),))
    assert of("true") == {}  # nothing referenced: nothing converted
    value = {"a": {"x": 1, "y": [1, 2]}, "l": [{"k": 1, "z": 2}, 3]}
    assert prune(value, Fields((("a", KIND), ("l", Elements(Fields((("k", FULL),))))))) == {
        "a": {},
        "l": [{"k": 1}, 3],
    }
    assert join(KIND, Fields((("a", FULL),))) == Fields((("a", FULL),))
    assert join(Fields(()), Elements(FULL)) is FULL


def test_an_unknown_syntax_tree_converts_everything() -> None:
    def message(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    expr = bytes([2 << 3, 1]) + message(4, message(1, b"object"))
    assert checked_expression(message(2, message(4, expr))) == Ident("object")
    future = expr + message(12, b"")  # a field this reader does not know
    with pytest.raises(UnknownSyntax):
        checked_expression(message(2, message(4, future)))
    two_variables = message(9, message(1, b"i") + message(8, b"v"))  # iter_var2: refused
    with pytest.raises(UnknownSyntax):
        checked_expression(message(2, message(4, two_variables)))
    constants = checked_expression(admission_env().compile("[2.5, -3, 'x', b'y', null, true]").serialize())
    assert isinstance(constants, CreateList)
    assert [c.value for c in constants.elements if isinstance(c, Const)] == [2.5, -3, "x", b"y", None, True]
    tree = checked_expression(admission_env().compile("has(object.a) && object['b'] == 1").serialize())
    assert isinstance(tree, Call) and isinstance(tree.args[0], Select) and tree.args[0].test_only


# The exported shipped policies and the native VAP examples (params, variables, quantities).
EXPRESSION_RULES = [
    (policy.name, rule)
    for policy_set in (NATIVE, load_policies(ROOT / "tests" / "fixtures" / "vap" / "replica-limit.yaml"))
    for policy in policy_set.policies
    for rule in policy.rules
    if isinstance(rule.run_request, rules._RuleEvaluator)
]


def findings(run: Any, pod_: Any, request: Request) -> Any:
    try:
        return [dataclasses.astuple(f) for f in run(pod_, request)]
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(("name", "request_"), FIXTURES, ids=[name for name, _ in FIXTURES])
def test_every_exported_rule_judges_every_fixture_as_with_whole_values(name: str, request_: Request) -> None:
    request_ = with_namespace_labels(request_)
    pod_ = pod_view(request_.object, request_.kind) if request_.object is not None else None
    if pod_ is None:  # nothing a pod policy judges
        return
    assert EXPRESSION_RULES
    whole = rules.need(rules.EVERYTHING)
    for policy_name, rule in EXPRESSION_RULES:
        evaluator = rule.run_request
        assert isinstance(evaluator, rules._RuleEvaluator)
        assert evaluator.need is not whole, f"{policy_name}/{rule.name}: nothing was pruned"
        everything = dataclasses.replace(evaluator, need=whole)
        assert findings(evaluator, pod_, request_) == findings(everything, pod_, request_), policy_name


NO_LATEST_UNUSED_FAILING_VARIABLE = """\
- name: r
  variables:
    - {name: broken, expression: "object.spec.nope"}
    - {name: images, expression: "variables.podSpec.containers.map(c, c.image)"}
  validations:
    - expression: "variables.images.all(i, !i.endsWith(':latest'))"
      messageExpression: "'uses :latest: ' + variables.images.join(', ')"
"""


def test_a_failing_variable_fails_only_the_expressions_that_use_it() -> None:
    latest = pod()
    latest["spec"]["containers"][0]["image"] = "nginx:latest"
    decision = decide(NO_LATEST_UNUSED_FAILING_VARIABLE, latest)
    assert [v.message for v in decision.violations] == ["uses :latest: nginx:latest [policy cel]"]
    used = NO_LATEST_UNUSED_FAILING_VARIABLE.replace("!i.endsWith(':latest')", "variables.broken == 1")
    assert "could not evaluate rule r" in decide(used, latest).violations[0].message


@pytest.mark.parametrize(
    "validation",
    [
        "has(variables.images) && variables.images.size() == 1",  # has() needs a field selection
        "[1].all(variables, variables == 1) && variables.images.size() == 1",  # `variables` rebound
        "variables['images'].size() == 1",  # indexed
        "'variables.images' != '' && variables.images.size() == 1",  # inside a string: left alone
    ],
)
def test_variables_the_rewriting_cannot_follow_are_bound_as_a_map(validation: str) -> None:
    rule = f"""\
    - name: r
      variables:
        - {{name: images, expression: "variables.podSpec.containers.map(c, c.image)"}}
      validations: [{{expression: "{validation}", message: m}}]
    """
    assert decide(rule, pod()).allowed
    assert not decide(rule.replace("== 1", "== 2"), pod()).allowed


def test_the_bounds_hold_on_pruned_values(monkeypatch: pytest.MonkeyPatch) -> None:
    cubic = """\
    - name: r
      validations:
        - expression: "object.spec.containers.all(a, object.spec.containers.all(b, object.spec.containers.all(c, a.name != '' || b.name != c.name)))"
    """
    big = pod()
    big["spec"]["containers"] = [{"name": f"c{i}", "image": "x", "env": []} for i in range(200)]
    refused = decide(cubic, big)
    assert "nests 3 comprehensions over lists of up to 200 items" in refused.violations[0].message
    monkeypatch.setattr(rules, "MAX_RULE_SECONDS", 0.0)
    slow = decide("- name: r\n  validations: [{expression: 'object.spec.containers.size() > 0'}]\n", pod())
    assert not slow.allowed
    assert "more than the 0 ms bound" in slow.violations[0].message


def test_rules_observing_the_same_parts_share_one_conversion() -> None:
    text = """\
    - name: r1
      validations: [{expression: "object.metadata.name != ''"}]
    - name: r2
      validations: [{expression: "object.metadata.name.startsWith('a') || true"}]
    - name: r3
      validations: [{expression: "object.metadata.name != ''", messageExpression: "object.kind"}]
    """
    loaded = load_policy_text(policy(text), "p.yaml")
    needs = [r.run_request.need for r in loaded.policies[0].rules]  # type: ignore[union-attr]
    assert needs[0] is needs[1]
    assert needs[0] is not needs[2]  # the message observes `kind` too
    assert dict(needs[2].demands) == {
        "object": Fields((("kind", FULL), ("metadata", Fields((("name", FULL),)))))
    }
    request = Request(object=pod())
    pod_ = pod_view(pod(), "Pod")
    first = rules.prepare(request, pod_, None, needs[0])
    assert rules.prepare(request, pod_, None, needs[1]) is first
    assert rules.prepare(request, pod_, None, needs[2]) is not first
    assert rules.prepare(Request(object=pod()), pod_, None, needs[0]) is not first  # a new request
