"""Shifts: corruptions, typographic attacks and adversarial attacks, registered by name.

Example:
    >>> from zeroshift.specs import CallSpec
    >>> isinstance(shifts.names(), list)
    True

"""

from __future__ import annotations

from zeroshift.registry import Registry
from zeroshift.shifts.base import Shift, ShiftContext, per_image_seed
from zeroshift.specs import CallSpec

shifts: Registry[type[Shift]] = Registry("shift")


def make_shift(spec: str | CallSpec) -> Shift:
    """Build the shift a spec names, with its parameters checked."""
    call = CallSpec.parse(spec)
    return shifts.get(call.name)(**call.kwargs)


__all__ = ["Shift", "ShiftContext", "make_shift", "per_image_seed", "shifts"]
