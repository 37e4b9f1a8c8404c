"""Declared parameters: what a metric group, a shift or an artefact kind accepts, with defaults and allowed values.

One declaration serves three jobs: filling in defaults, checking a user's values before any work (one clear line per
mistake), and ``zeroshift ls`` (which shows every parameter, its default and its allowed values).

Example:
    >>> declared = {"n_bins": Param(15, "equal-width bins", check=positive_int)}
    >>> resolve_params("calibration", declared, {"n_bins": 10})
    {'n_bins': 10}
    >>> resolve_params("calibration", declared, {"bins": 10})
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: calibration: unknown parameter 'bins'; did you mean 'n_bins'? (known: n_bins)

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zeroshift.errors import SpecError
from zeroshift.registry import suggest


@dataclass(frozen=True)
class Param:
    """One parameter: its default, what it means, and its allowed values or a check.

    Attributes:
        default: the value used when none is given.
        help: one line for ``zeroshift ls``.
        choices: the allowed values, when they are a short list.
        check: ``value -> value`` normalising a given value or raising SpecError (a range, a type).

    """

    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], Any] | None = None

    def accept(self, owner: str, name: str, value: Any) -> Any:
        """The value, checked against ``choices`` and ``check``."""
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise SpecError(f"{owner}: {name} must be one of {allowed}; got {value!r}")
        if self.check is not None:
            try:
                return self.check(value)
            except SpecError as err:
                raise SpecError(f"{owner}: {name} {err}") from None
        return value

    def describe(self) -> str:
        """``default (choices)`` for listings."""
        out = f"default {self.default!r}"
        if self.choices is not None:
            shown = ", ".join(str(c) for c in self.choices[:24]) + (", ..." if len(self.choices) > 24 else "")
            out += f"; one of {shown}"
        return out


def resolve_params(owner: str, declared: Mapping[str, Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """The declared defaults updated with ``given``, every given value checked; unknown names are refused."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise SpecError(
            f"{owner}: unknown parameter {unknown[0]!r}{suggest(unknown[0], sorted(declared))} (known: {known})"
        )
    out = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        out[name] = declared[name].accept(owner, name, value)
    return out


def positive_int(value: Any) -> int:
    """A positive integer (bools refused).

    Example:
        >>> positive_int(3)
        3

    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"must be a positive integer, got {value!r}")
    return value


def non_negative_int(value: Any) -> int:
    """An integer >= 0 (bools refused).

    Example:
        >>> non_negative_int(0)
        0

    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"must be an integer >= 0, got {value!r}")
    return value


def probability(value: Any) -> float:
    """A number in (0, 1).

    Example:
        >>> probability(0.05)
        0.05

    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
        raise SpecError(f"must be a number in (0, 1), got {value!r}")
    return float(value)


def positive_number(value: Any) -> float:
    """A finite number > 0.

    Example:
        >>> positive_number(2)
        2.0

    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) < float("inf"):
        raise SpecError(f"must be a positive number, got {value!r}")
    return float(value)
