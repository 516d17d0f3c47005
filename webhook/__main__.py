"""`python -m webhook` is the `podgate` command."""

from .cli import main

raise SystemExit(main())
