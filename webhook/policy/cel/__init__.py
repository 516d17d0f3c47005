"""CEL in the engine: the Kubernetes CEL libraries (library.py), cost bounds (limits.py) and
expression rules compiled at load and run per request (rules.py). See docs/cel.md."""
