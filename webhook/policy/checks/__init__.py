"""The built-in checks, one module per check. Importing this package registers them all.

Every public module here (a name without a leading underscore) is imported, so adding a check is adding
a file; helpers shared by several checks live in `_`-prefixed modules.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
