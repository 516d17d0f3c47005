"""Exit codes and the one exception every sub-command raises for a user-fixable problem."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # everything allowed / every test passed
    FAILED = 1  # something denied / a test failed
    USAGE = 2  # bad arguments, unreadable input, an invalid policy set


class UsageError(Exception):
    """A problem with the command's arguments or inputs; the message says what and where."""
