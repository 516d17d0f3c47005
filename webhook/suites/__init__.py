"""PolicyTest suites (`podgate test`): the document model, the loader, the runner and the reports.

    suites = discover(["policies/"])                  # suite files under the paths
    suite = load_suite(path)                          # raises SuiteError naming file, case and field
    result = run_suite(suite, update=False)           # every case, with every failure it found

The format is specified in docs/testing-policies.md.
"""

from .loader import Suite, SuiteCase, SuiteError, discover, load_suite
from .runner import CaseResult, SuiteResult, run_suite

__all__ = [
    "CaseResult",
    "Suite",
    "SuiteCase",
    "SuiteError",
    "SuiteResult",
    "discover",
    "load_suite",
    "run_suite",
]
