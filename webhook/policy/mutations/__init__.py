"""The built-in mutators, one module per mutator. Importing this package registers them all.

Every public module here (a name without a leading underscore) is imported, so adding a mutator is
adding a file.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
