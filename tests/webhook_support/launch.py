"""`python launch.py serve ...`: the podgate CLI with the test plugins registered first."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import webhook_support.plugins  # noqa: F401  (registers the test checks and mutator)
from webhook.cli import main

raise SystemExit(main(sys.argv[1:]))
