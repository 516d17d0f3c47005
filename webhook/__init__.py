"""podgate: Kubernetes admission-control policy webhook."""

__version__ = "0.1.0"
