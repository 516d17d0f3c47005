"""What a loaded set judges (webhook/judging.py): the held-pod cache is needed exactly when some access
policy matches an operation of the requests that only name their pod, an eviction being matched as DELETE."""

from __future__ import annotations

import pytest
from check_helpers import policy_text
from conftest import POLICIES

from webhook.judging import Judged
from webhook.policy import PolicySet, Request, load_policy_text
from webhook.policy.sessions import NAMED_ONLY_OPERATIONS, NAMED_ONLY_REQUESTS, matched_operation

HOLD = (POLICIES / "forensic-hold.yaml").read_text()


def hold_matching(*operations: str) -> PolicySet:
    return load_policy_text(HOLD.replace("[UPDATE, DELETE, CONNECT]", f"[{', '.join(operations)}]"))


def test_the_named_only_operations_are_derived_from_the_named_only_requests() -> None:
    assert set(NAMED_ONLY_REQUESTS) == {
        ("CONNECT", "exec"),
        ("CONNECT", "attach"),
        ("CONNECT", "portforward"),
        ("CREATE", "eviction"),
    }
    assert set(NAMED_ONLY_OPERATIONS) == {"CONNECT", "DELETE"}
    assert matched_operation("CREATE", "eviction") == "DELETE"
    assert matched_operation("CREATE", "") == "CREATE"


@pytest.mark.parametrize(
    ("operations", "needs_held_pods"),
    [
        (("UPDATE",), False),
        (("DELETE",), True),
        (("CONNECT",), True),
        (("UPDATE", "DELETE", "CONNECT"), True),
    ],
)
def test_the_held_pod_cache_is_needed_for_named_only_requests(
    operations: tuple[str, ...], needs_held_pods: bool
) -> None:
    assert Judged.of(hold_matching(*operations)).needs_held_pods is needs_held_pods


def test_an_eviction_is_judged_by_a_policy_matching_delete() -> None:
    eviction = Request(object=None, operation="CREATE", subresource="eviction", name="web", namespace="shop")
    assert Judged.of(hold_matching("DELETE")).pass_through(eviction) == ""
    assert (
        Judged.of(hold_matching("CONNECT")).pass_through(eviction)
        == "operation CREATE on 'eviction' is not judged by any policy"
    )


def test_the_fail_closed_policies_are_worked_out_at_load() -> None:
    texts = [
        # Warn cannot deny, so it cannot deny what it could not judge either.
        policy_text("no-root", {}, name="warns", actions=["Warn"], failurePolicy="Fail"),
        policy_text("no-root", {}, name="denies-open", actions=["Deny"], failurePolicy="Ignore"),
        policy_text("no-root", {}, name="denies-closed", actions=["Deny", "Audit"], failurePolicy="Fail"),
        policy_text("no-root", {}, name="b-denies-closed", actions=["Deny"], failurePolicy="Fail"),
    ]
    judged = Judged.of(load_policy_text("---\n".join(texts)))
    assert judged.fail_closed == ("b-denies-closed", "denies-closed")  # in evaluation order
    assert Judged.of(load_policy_text(texts[0] + "---\n" + texts[1])).fail_closed == ()
