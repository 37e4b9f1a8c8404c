"""Opening an existing results store for commands that only read it.

Example:
    >>> open_existing_store("/nonexistent/zs.db")
    Traceback (most recent call last):
    ...
    zeroshift.errors.UsageError: no results store at /nonexistent/zs.db; run `zeroshift run ...` first or pass --store

"""

from __future__ import annotations

from pathlib import Path

from zeroshift.errors import UsageError
from zeroshift.paths import default_store
from zeroshift.results.store import Store

FORMATS = ("table", "json", "csv")


def open_existing_store(target: str | None) -> Store:
    """The store at ``target`` (default ``zeroshift-results.db``); a missing SQLite file is a usage error."""
    target = target or default_store()
    if "://" not in target and not Path(target).exists():
        raise UsageError(f"no results store at {target}; run `zeroshift run ...` first or pass --store")
    return Store(target)


def check_format(fmt: str) -> str:
    """``table``, ``json`` or ``csv``."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be table, json or csv, got {fmt!r}")
    return fmt
