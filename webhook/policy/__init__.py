"""The policy engine: pure, no Flask, no I/O beyond reading policy files in the loader.

Every front-end (webhook, CLI, audit) goes through `load_policies`, `evaluate` and `mutate`.
"""

from .engine import DeadlineExceeded, MutationResult, Request, UserInfo, evaluate, mutate
from .loader import PolicyLoadError, Problem, load_policies, load_policy_text
from .model import Policy, PolicySet
from .result import Decision, Finding, Status, Violation

__all__ = [
    "DeadlineExceeded",
    "Decision",
    "Finding",
    "MutationResult",
    "Policy",
    "PolicyLoadError",
    "PolicySet",
    "Problem",
    "Request",
    "Status",
    "UserInfo",
    "Violation",
    "evaluate",
    "load_policies",
    "load_policy_text",
    "mutate",
]
