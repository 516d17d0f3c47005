"""The built-in checks, one module per check. Importing this package registers them all."""

from . import no_root  # noqa: F401
