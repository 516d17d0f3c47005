"""Support for the webhook tests: the real server in a subprocess, a fake Kubernetes API, test plugins."""

# The environment variable naming a file the test-slow check creates as it starts sleeping: a test that
# signals the server mid-request waits for it, instead of guessing with a sleep when a worker has it.
SLOW_STARTED_FILE = "TEST_SLOW_STARTED_FILE"
