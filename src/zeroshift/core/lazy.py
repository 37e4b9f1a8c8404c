"""Heavy libraries imported on first use.

The read-only commands (``results``, ``report``, ``analyze``, ``compare``) import the metric declarations and the
data layer but never run a model, so the modules they import must not import torch (2 s and more) at import time.
``from zeroshift.core.lazy import torch`` gives a stand-in that imports torch the first time an attribute is read;
type hints stay strings (every module uses ``from __future__ import annotations``).

Example:
    >>> math = LazyModule("math")
    >>> math.sqrt(16.0)
    4.0

"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"


torch: Any = LazyModule("torch")
