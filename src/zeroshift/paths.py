"""Where zeroshift keeps things: the artefact cache, the default results store and dataset roots.

Every location comes from an argument or an environment variable, never from the installed package.

Example:
    >>> import os
    >>> os.environ["ZEROSHIFT_CACHE"] = "/tmp/zs-cache"
    >>> str(cache_dir())
    '/tmp/zs-cache'

"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """Return the artefact cache folder: ``$ZEROSHIFT_CACHE`` or the platform cache dir."""
    env = os.environ.get("ZEROSHIFT_CACHE")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("zeroshift"))


def default_store() -> str:
    """Return the default results store: ``$ZEROSHIFT_STORE`` or ``zeroshift-results.db`` here."""
    return os.environ.get("ZEROSHIFT_STORE", "zeroshift-results.db")


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset root: the explicit argument, ``$ZEROSHIFT_DATA_ROOT`` or ``./data``."""
    if explicit is not None:
        return Path(explicit).expanduser()
    return Path(os.environ.get("ZEROSHIFT_DATA_ROOT", "data")).expanduser()
