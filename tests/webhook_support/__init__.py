"""Support for the webhook tests: the real server in a subprocess, a fake Kubernetes API, test plugins."""
