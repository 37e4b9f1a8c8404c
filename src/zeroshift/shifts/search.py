"""The settings of a minimal-epsilon search: which attack, up to which radius, how many bisection steps.

Shared by the ``min_epsilon`` artefact (which runs the search) and the ``min_epsilon`` metric group (which reads it
and checks its parameters before any work).

Example:
    >>> search = epsilon_search("pgd(norm='linf', steps=10)", "16/255", 8)
    >>> search.attack.canonical, round(search.eps_max * 255, 6), search.steps
    ("pgd(eps='16/255', norm='linf', random_start=True, step_size=None, steps=10, target=None)", 16.0, 8)

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zeroshift.errors import SpecError
from zeroshift.specs import CallSpec

#: the defaults of the search (Wang et al. 2024 report the median minimal radius of PGD)
DEFAULTS: dict[str, Any] = {"attack": "pgd(norm='linf', steps=10)", "eps_max": "16/255", "search_steps": 8}


@dataclass(frozen=True)
class EpsilonSearch:
    """A validated search: the attack at ``eps_max``, the radius and the bisection steps."""

    attack: Any
    eps_max: float
    steps: int
    spec: str

    @property
    def record(self) -> dict[str, Any]:
        """What the record and the cache key say about the search."""
        return {
            "attack": self.spec,
            "attack_at_eps_max": self.attack.canonical,
            "eps_max": self.eps_max,
            "search_steps": self.steps,
            "method": "bisection on [0, eps_max] after checking eps_max; result = smallest radius known to succeed",
        }


def epsilon_search(attack: str, eps_max: Any, search_steps: Any) -> EpsilonSearch:
    """Validate the search parameters (SpecError with one line on a bad one)."""
    from zeroshift.shifts import make_shift, shifts
    from zeroshift.shifts.attacks import Attack, parse_eps

    radius = parse_eps(eps_max, "min_epsilon: eps_max")
    if radius <= 0:
        raise SpecError(f"min_epsilon: eps_max must be positive, got {eps_max!r}")
    if isinstance(search_steps, bool) or not isinstance(search_steps, int) or not 1 <= search_steps <= 30:
        raise SpecError(f"min_epsilon: search_steps must be an integer from 1 to 30, got {search_steps!r}")
    call = CallSpec.parse(attack)
    if not issubclass(shifts.get(call.name), Attack):
        raise SpecError(f"min_epsilon: attack must be an attack (fgsm, pgd, apgd), got {call.name!r}")
    return EpsilonSearch(make_shift(call.with_params(eps=radius)), radius, search_steps, call.canonical)
