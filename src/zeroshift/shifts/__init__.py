"""Shifts: corruptions, typographic attacks and adversarial attacks, registered by name.

Example:
    >>> shifts.names()
    ['apgd', 'corruption', 'drop_words', 'fgsm', 'pgd', 'shuffle_words', 'typographic', 'typos']
    >>> make_shift("corruption(severity=3, name='fog')").canonical
    "corruption(name='fog', severity=3)"

"""

from __future__ import annotations

from zeroshift.registry import Registry
from zeroshift.shifts.base import Shift, ShiftContext, per_image_seed
from zeroshift.specs import CallSpec

shifts: Registry[type[Shift]] = Registry("shift")
for _name, _target in {
    "corruption": "zeroshift.shifts.corruptions:Corruption",
    "typographic": "zeroshift.shifts.typographic:Typographic",
    "fgsm": "zeroshift.shifts.attacks:FGSM",
    "pgd": "zeroshift.shifts.attacks:PGD",
    "apgd": "zeroshift.shifts.attacks:APGD",
    "typos": "zeroshift.shifts.text:Typos",
    "drop_words": "zeroshift.shifts.text:DropWords",
    "shuffle_words": "zeroshift.shifts.text:ShuffleWords",
}.items():
    shifts.register_lazy(_name, _target)


def make_shift(spec: str | CallSpec) -> Shift:
    """Build the shift a spec names, with its parameters checked."""
    call = CallSpec.parse(spec)
    return shifts.get(call.name)(**call.kwargs)


__all__ = ["Shift", "ShiftContext", "make_shift", "per_image_seed", "shifts"]
