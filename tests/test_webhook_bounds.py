"""Answers and decision-log entries stay bounded for a pod with thousands of bad containers.

Found by the pathological-input fault run (bench/faults.py): 3000 containers made a 2.9 MB denial
message and a 3.7 MB decision-log line per request, built after the evaluation deadline.
"""

from __future__ import annotations

import time

from conftest import POLICIES, shared_review

from webhook.app import MAX_LOGGED_VIOLATIONS, _decision_entry
from webhook.policy import Request, evaluate, load_policies
from webhook.review import MAX_MESSAGE_CHARS, Review, answer, bound_message, parse_review


def review_with(containers: int) -> Review:
    """The shared kubectl-run sample with its pod swapped for one of `containers` bad containers."""
    body = shared_review("pod-create-kubectl-run.json")
    body["request"]["object"] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "many", "namespace": "default"},
        "spec": {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]},
    }
    return parse_review(body)


def test_a_long_denial_message_is_cut_and_says_so() -> None:
    assert bound_message("short") == "short"
    long = "x" * (MAX_MESSAGE_CHARS + 500)
    bounded = bound_message(long)
    assert bounded.startswith("x" * MAX_MESSAGE_CHARS)
    assert bounded.endswith("(500 more characters left out; see the decision log)")


def test_thousands_of_violations_make_a_bounded_answer_and_log_entry() -> None:
    review = review_with(1000)
    decision = evaluate(
        load_policies(POLICIES / "no-root.yaml"), review.request, deadline=time.monotonic() + 60
    )
    assert len(decision.violations) == 1000
    response = answer(review, allowed=False, message=decision.deny_message())["response"]
    assert len(response["status"]["message"]) < MAX_MESSAGE_CHARS + 100
    assert "see the decision log" in response["status"]["message"]
    entry = _decision_entry(decision)
    assert len(entry["violations"]) == MAX_LOGGED_VIOLATIONS
    assert entry["violationsLeftOut"] == 1000 - MAX_LOGGED_VIOLATIONS


def test_a_few_violations_are_all_kept() -> None:
    decision = evaluate(
        load_policies(POLICIES / "no-root.yaml"), Request(object=review_with(3).request.object)
    )
    entry = _decision_entry(decision)
    assert len(entry["violations"]) == 3 and "violationsLeftOut" not in entry
