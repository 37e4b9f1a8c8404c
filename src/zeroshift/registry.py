"""One generic registry for everything that has a name: model schemes, benchmarks, shifts, metrics.

Entries are registered with a decorator or lazily as ``"module:attr"`` strings, so that importing
zeroshift imports no heavy backend. An unknown name raises :class:`~zeroshift.errors.SpecError` with the
closest known names, and a duplicate registration raises at once.

Example:
    >>> shapes = Registry("shape")
    >>> @shapes.register("square")
    ... def square(x):
    ...     return x * x
    >>> shapes.get("square")(3)
    9
    >>> shapes.get("sqare")
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: unknown shape 'sqare'; did you mean 'square'?

"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from zeroshift.errors import SpecError

T = TypeVar("T")


def suggest(name: str, known: list[str], n: int = 3) -> str:
    """Return a ``"; did you mean ...?"`` suffix naming the closest known names, or ``""``.

    Example:
        >>> suggest("imagenett", ["imagenet", "objectnet"])
        "; did you mean 'imagenet'?"

    """
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        close = [lowered[k] for k in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


class Registry(Generic[T]):
    """A thread-safe name -> object map with lazy entries and suggestions for unknown names.

    Example:
        >>> r = Registry("metric")
        >>> r.register_lazy("sqrt", "math:sqrt")
        >>> r.get("sqrt")(16.0)
        4.0

    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._lock = threading.RLock()

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator that does so."""

        def add(target: T) -> T:
            with self._lock:
                if name in self._entries and self._entries[name] is not target:
                    raise ValueError(f"{self.kind} {name!r} is already registered")
                self._entries[name] = target
            return target

        return add(obj) if obj is not None else add

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"module:attr"``, imported the first time ``name`` is looked up."""
        if ":" not in target:
            raise ValueError(f"lazy target must look like 'module:attr', got {target!r}")
        with self._lock:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = target

    def get(self, name: str) -> T:
        """Return the entry for ``name``, importing it if it was registered lazily."""
        with self._lock:
            if name not in self._entries:
                raise SpecError(f"unknown {self.kind} {name!r}" + suggest(name, sorted(self._entries)))
            entry = self._entries[name]
            if isinstance(entry, str):
                module, attr = entry.split(":", 1)
                entry = getattr(importlib.import_module(module), attr)
                self._entries[name] = entry
            return entry

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        with self._lock:
            return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
