"""The `request` variable built with only the fields a rule observes (rules.request_variable).

A rule that selects a few fields of `request` gets a `request` with just those; rules observing other
fields, or the whole of it, in the same request still see every field they read, with the same values,
on the fast path and on the real program alike.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from test_cel_rules import policy

from webhook.policy import Request, UserInfo, evaluate, load_policy_text
from webhook.policy.cel import rules
from webhook.policy.cel.demand import FULL, Fields
from webhook.policy.podspec import pod_view

REQUEST = Request(
    object={**pod(), "apiVersion": "v1", "metadata": {"name": "web", "namespace": "meta-ns"}},
    operation="UPDATE",
    kind="Pod",
    subresource="ephemeralcontainers",
    namespace="shop",
    user=UserInfo("alice", ("dev", "ops")),
    dry_run=True,
)


def shape_of(fields: tuple[str, ...], kind_parts: tuple[str, ...] | None = None) -> rules.RequestShape:
    def demand(field: str) -> Any:
        if field == "kind" and kind_parts is not None:
            return Fields(keys=tuple((part, FULL) for part in sorted(kind_parts)))
        return FULL

    shape = rules.request_shape(Fields(keys=tuple((f, demand(f)) for f in sorted(fields))))
    assert shape is not None
    return shape


@pytest.mark.parametrize("size", range(1, len(rules.REQUEST_FIELDS) + 1))
def test_every_choice_of_fields_gives_those_fields_of_the_whole(size: int) -> None:
    whole = rules.request_variable(REQUEST)
    assert list(whole) == list(rules.REQUEST_FIELDS)
    for fields in itertools.combinations(rules.REQUEST_FIELDS, size):
        assert rules.request_variable(REQUEST, shape_of(fields)) == {f: whole[f] for f in fields}


def test_the_kind_alone_or_whole() -> None:
    whole = rules.request_variable(REQUEST)
    assert whole["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert rules.request_variable(REQUEST, shape_of(("kind",), ("kind",))) == {"kind": {"kind": "Pod"}}
    for parts in (("group",), ("kind", "version"), ("group", "kind", "version")):
        assert rules.request_variable(REQUEST, shape_of(("kind",), parts)) == {"kind": whole["kind"]}
    # The kind from the object when the request has none, as for the whole variable.
    bare = Request(object={"apiVersion": "apps/v1", "kind": "Deployment"})
    assert rules.request_variable(bare, shape_of(("kind",), ("kind",))) == {"kind": {"kind": "Deployment"}}
    assert rules.request_variable(bare)["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}


def test_what_a_program_does_other_than_select_fields_builds_the_whole() -> None:
    assert rules.request_shape(FULL) is None
    assert rules.request_shape(Fields(keys=(("operation", FULL),))) == (("operation", None),)
    # A field `request` does not have fails in the program either way: it is not built.
    assert rules.request_shape(Fields(keys=(("nope", FULL), ("operation", FULL)))) == (("operation", None),)


# Rules observing different parts of `request` (and all of it) judged on one request, in every order.
RULES = {
    "kind-op": "request.kind.kind + '/' + request.subResource + '/' + request.operation"
    " == 'Pod/ephemeralcontainers/UPDATE'",
    "who": "request.userInfo.username == 'alice' && request.userInfo.groups == ['dev', 'ops']"
    " && request.name == 'web' && request.namespace == 'shop' && request.dryRun",
    "group": "request.kind.group == '' && request.kind.version == 'v1' && has(request.name)",
    "whole": "size(request) == 7 && request.all(k, k != '')",
    "op-only": "request.operation == 'UPDATE'",
}


def rule_text(names: tuple[str, ...]) -> str:
    return "".join(f'- name: {n}\n  validations: [{{expression: "{RULES[n]}"}}]\n' for n in names)


@pytest.mark.parametrize("order", list(itertools.permutations(["kind-op", "who", "whole", "op-only"])))
def test_rules_of_one_request_each_see_what_they_read(order: tuple[str, ...]) -> None:
    policies = load_policy_text(policy(rule_text((*order, "group"))), "p.yaml")
    for fast in (True, False):
        with cel_fast_path_as(fast):
            decision = evaluate(policies, REQUEST)
        assert decision.allowed, (fast, [v.message for v in decision.violations])
        assert decision.violations == ()


def test_the_fast_path_answers_with_a_partial_request() -> None:
    run = rules_of(rule_text(("kind-op",)))[0]
    assert run.program.fast is not None
    assert run.need.request_shape == (
        ("kind", frozenset({"kind"})),
        ("operation", None),
        ("subResource", None),
    )
    calls: list[Any] = []
    real = run.program.fast.function

    def counted(values: Any, params: Any, get: Any) -> Any:
        calls.append(dict(values))
        return real(values, params, get)

    counting = dataclasses.replace(
        run,
        program=dataclasses.replace(
            run.program, fast=dataclasses.replace(run.program.fast, function=counted)
        ),
    )
    view = pod_view(REQUEST.object, "Pod")  # type: ignore[arg-type]
    assert view is not None
    assert counting(view, dataclasses.replace(REQUEST)) == []
    assert calls == [
        {
            "object": REQUEST.object,
            "request": {"kind": {"kind": "Pod"}, "subResource": "ephemeralcontainers", "operation": "UPDATE"},
        }
    ]
    assert counting(view, dataclasses.replace(REQUEST, operation="CREATE"))  # a violation: it reads anew


def rules_of(text: str) -> list[rules._RuleEvaluator]:
    found = []
    for rule in load_policy_text(policy(text), "p.yaml").policies[0].rules:
        assert isinstance(rule.run_request, rules._RuleEvaluator)
        found.append(rule.run_request)
    return found


@pytest.mark.parametrize("bad", ["\ud800", 2**64])
def test_values_cel_cannot_carry_in_the_fields_read_are_left_to_cel(bad: Any) -> None:
    # The fields built are checked like any other value: the real program answers (here: an error).
    text = "- name: r\n  validations: [{expression: \"request.userInfo.username != ''\"}]\n"
    policies = load_policy_text(policy(text), "p.yaml")
    request = Request(object=pod(), user=UserInfo(bad, ()))  # type: ignore[arg-type]
    with_fast = evaluate(policies, request)
    with cel_fast_path_as(False):
        without = evaluate(policies, request)
    assert [v.message for v in with_fast.violations] == [v.message for v in without.violations]
    assert with_fast.allowed == without.allowed


@pytest.mark.parametrize(
    "changes",
    [
        {"subresource": "\ud800"},
        {"operation": "UPD\udfffATE"},
        {"kind": "\ud800"},
        {"kind": "", "object": {**pod(), "kind": 5}},
    ],
)
def test_scalar_fields_checked_as_they_are_built(changes: dict[str, Any]) -> None:
    """kind/subResource/operation are checked while built (no checker walks them again): a value CEL
    cannot carry still leaves the answer to the real program."""
    text = '- name: r\n  validations: [{expression: "' + RULES["kind-op"] + '"}]\n'
    (run,) = rules_of(text)
    assert run.need.request_checked and "request" not in dict(run.need.checks(False))
    view = pod_view(REQUEST.object, "Pod")  # type: ignore[arg-type]
    assert view is not None
    request = dataclasses.replace(REQUEST, **changes)
    real = rules._request_values(request, view).seen_by(run.need)
    assert real is None  # not plain: the fast path does not answer
    with_fast = outcome(lambda: run(view, request))
    with cel_fast_path_as(False):
        without = outcome(lambda: run(view, dataclasses.replace(request)))
    assert with_fast == without


def outcome(call: Any) -> Any:
    """What `call` gives, or the error it raises (the real program refuses a lone surrogate)."""
    try:
        return call()
    except Exception as exc:  # compared, not hidden: both paths must fail alike
        return (type(exc), str(exc))


def test_other_fields_keep_their_checker() -> None:
    (run,) = rules_of("- name: r\n  validations: [{expression: \"request.userInfo.username != ''\"}]\n")
    assert not run.need.request_checked and "request" in dict(run.need.checks(False))
