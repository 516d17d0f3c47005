"""The value checkers' bound of the longest collection, which spares the fast path pruning a request
only to measure the comprehension bound (to_python.checker, rules._RequestValues.within_bound).

The fast path skips the exact measure when the checkers' figure, raised to the nesting depth, is
within the bound; so that figure must never be below the exact one (what limits.longest_collection
finds in the pruned values the real program converts), and the checkers must still tell plain values
from others exactly as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cel_fast_path_as, pod
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cel_rules import decide, policy
from test_cel_to_python import KEYS, VALUES

from webhook.policy import load_policy_text
from webhook.policy.cel import rules
from webhook.policy.cel.demand import FULL, KIND, NONE, Demand, Elements, Fields, prune
from webhook.policy.cel.limits import longest_collection
from webhook.policy.cel.to_python import NOT_PLAIN, UNMEASURED, checker, plain_longest


def _fields(pairs: dict[str, Demand]) -> Fields:
    return Fields(tuple(sorted(pairs.items())))


DEMANDS = st.recursive(
    st.sampled_from([FULL, KIND, NONE]),
    lambda inner: st.one_of(
        st.builds(Elements, inner),
        st.dictionaries(KEYS, inner, min_size=1, max_size=3).map(_fields),
    ),
    max_leaves=6,
)
# Values with longer collections than test_cel_to_python's, and tuples (not plain: CEL refuses them).
WIDE = st.recursive(
    VALUES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=8),
        st.dictionaries(KEYS, inner, max_size=7),
        st.tuples(inner),
    ),
    max_leaves=15,
)
# Mostly maps at the top, as variables are (so that field demands meet their keys).
TOP = st.one_of(st.dictionaries(KEYS, WIDE, max_size=7), WIDE)


@settings(max_examples=200)
@given(demand=DEMANDS, value=TOP)
def test_the_checker_bounds_the_longest_pruned_collection(demand: Demand, value: Any) -> None:
    check, measuring = checker(demand), checker(demand, measure=True)
    if check is None or measuring is None:  # nothing observed: pruned to null
        assert check is None and measuring is None and prune(value, demand) is None
        return
    pruned = prune(value, demand)
    found = measuring(value)
    # Plain exactly when what the real program converts is plain, measuring or not...
    assert (found == NOT_PLAIN) == (plain_longest(pruned) == NOT_PLAIN)
    assert check(value) == (NOT_PLAIN if found == NOT_PLAIN else UNMEASURED)
    if found != NOT_PLAIN:
        # ...and never below the exact figure: skipping the exact measure is then safe.
        assert found >= longest_collection(pruned)


NESTED = """\
- name: r
  validations:
    - expression: "object.spec.containers.all(a, object.spec.containers.all(b, a.name != b.name || a == b))"
"""


def test_a_long_collection_the_rule_does_not_observe_costs_no_exact_measure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured = []
    exact = rules.Compiled.check_bound
    monkeypatch.setattr(rules.Compiled, "check_bound", lambda *a: measured.append(1) or exact(*a))
    noisy = pod()
    noisy["metadata"]["annotations"] = {str(i): "x" for i in range(5000)}  # never observed
    with cel_fast_path_as(True):
        assert decide(NESTED, noisy).allowed
    assert measured == []  # the checker's bound (2 containers) sufficed
    # (99 containers: 99 + 99 * 99 iterations, within the runtime's own budget, limits.RUNTIME_ITERATIONS)
    noisy["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(99)]
    with cel_fast_path_as(True):
        assert decide(NESTED, noisy).allowed
    assert measured == []  # 99 ** 2 is within the bound: still no exact measure
    # Past 1,000 containers the checkers' bound cannot rule it out: measured exactly, on pruned values.
    noisy["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(1001)]
    with cel_fast_path_as(True):
        assert not decide(NESTED, noisy).allowed
    assert measured != []


def decided_alike(rules_text: str, obj: Any) -> Any:
    """The decision with the fast path, after asserting the same messages without it."""
    with cel_fast_path_as(True):
        fast = decide(rules_text, obj)
    with cel_fast_path_as(False):
        real = decide(rules_text, obj)
    assert [v.message for v in fast.violations] == [v.message for v in real.violations]
    return fast


def test_a_long_observed_collection_is_refused_as_without_the_fast_path() -> None:
    wide = pod()
    wide["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(1001)]
    fast = decided_alike(NESTED, wide)
    assert not fast.allowed
    assert "nests 2 comprehensions over lists of up to 1001 items" in fast.violations[0].message


def test_a_rule_that_needs_no_bound_does_not_spare_one_that_does() -> None:
    # The same parts observed (one Need), checked first by a rule nesting no comprehensions: its
    # plain-data verdict measures nothing, so the nested rule measures its own.
    both = """\
    - name: flat
      validations:
        - expression: "object.spec.containers.all(a, a.name != '')"
    - name: nested
      validations:
        - expression: "object.spec.containers.all(a, object.spec.containers.all(b, a.name != '' || b.name != ''))"
    """
    wide = pod()
    wide["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(1001)]
    fast = decided_alike(both, wide)
    assert len(fast.violations) == 1
    assert "nests 2 comprehensions over lists of up to 1001 items" in fast.violations[0].message
    wide["spec"]["containers"] = wide["spec"]["containers"][:3]
    with cel_fast_path_as(True):
        assert decide(both, wide).allowed


def test_a_message_nesting_comprehensions_is_held_to_the_bound() -> None:
    # Its own depth counts (the rule's expressions nest none): over the bound, the message fails and
    # the validation's own message stands, with the fast path or without.
    rule = """\
- name: r
  validations:
    - expression: "false"
      message: static
      messageExpression: >-
        string(object.spec.containers.filter(a, object.spec.containers.exists(b, a.name == b.name)).size())
"""
    wide = pod()
    for count, message in ((3, "3"), (1001, "static")):
        wide["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(count)]
        decision = decided_alike(rule, wide)
        assert [v.message.partition(" [")[0] for v in decision.violations] == [message]


def test_a_need_builds_only_the_checkers_its_rules_use() -> None:
    # Generating them is most of a Need's cost at load: the flat rule's Need never measures. (Fields
    # no other test reads: Needs are shared by every rule observing the same parts.)
    text = """\
- name: flat
  validations:
    - expression: "object.spec.flatProbe.all(a, a.name != 'x')"
- name: nested
  validations:
    - expression: "object.spec.nestedProbe.all(a, object.spec.nestedProbe.all(b, a == b))"
"""
    flat, nested = (rule.run_request for rule in load_policy_text(policy(text), "p.yaml").policies[0].rules)
    assert isinstance(flat, rules._RuleEvaluator) and isinstance(nested, rules._RuleEvaluator)
    assert flat.need is not nested.need
    assert flat.need.checkers is not None and flat.need.measuring_checkers is None
    assert nested.need.checkers is None and nested.need.measuring_checkers is not None
