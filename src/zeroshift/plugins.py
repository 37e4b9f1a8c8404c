"""Plugins: modules that register more benchmarks, shifts, artefact kinds, metric groups or model backends.

A plugin is any importable module whose import registers its entries with the same decorators and registries the
shipped ones use (``@metric_group``, ``artefact_kind``, ``benchmarks.register``...). The command line imports, before
it parses anything, every module named in ``$ZEROSHIFT_PLUGINS`` (comma-separated) and every entry point of the
``zeroshift.plugins`` group of installed packages, so ``zeroshift run --metrics my_group`` finds a group that no file
of zeroshift names.

Example:
    >>> import os
    >>> os.environ["ZEROSHIFT_PLUGINS"] = "json"
    >>> "json" in load_plugins()
    True
    >>> del os.environ["ZEROSHIFT_PLUGINS"]

"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

from zeroshift.errors import UsageError

_loaded: list[str] = []


def load_plugins() -> list[str]:
    """Import the plugin modules (once each); returns the names imported so far."""
    names = [n.strip() for n in os.environ.get("ZEROSHIFT_PLUGINS", "").split(",") if n.strip()]
    for name in names:
        if name in _loaded:
            continue
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise UsageError(f"cannot import plugin {name!r} named in $ZEROSHIFT_PLUGINS: {err}") from None
        _loaded.append(name)
    for entry in metadata.entry_points(group="zeroshift.plugins"):
        if entry.value not in _loaded:
            entry.load()
            _loaded.append(entry.value)
    return list(_loaded)
