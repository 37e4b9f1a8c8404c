"""Temperature scaling (Guo et al. 2017): one scalar ``T`` fitted by NLL, logits divided by it.

``T* = argmin_T mean(-log softmax(z / T)[y])`` over a held-out in-distribution split. The NLL is convex in
``1 / T``, hence unimodal in ``log T``, so a bounded Brent search over ``log T`` finds the global minimum; the
bounds (``1e-3 .. 1e3``) are recorded, and a fit that ends on a bound says so (``at_bound``): all-correct
predictions drive ``T`` to its lower bound (sharper is always better), all-wrong ones to its upper bound.

Example:
    >>> import numpy as np, torch
    >>> rng = np.random.default_rng(0)
    >>> z = torch.tensor(rng.normal(size=(4000, 5)) * 3)
    >>> y = np.array([rng.choice(5, p=p) for p in torch.softmax(z, 1).numpy()])
    >>> fit = fit_temperature(z * 2.0, y)  # logits twice too sharp: T should be about 2
    >>> round(fit.temperature, 1)
    2.0

"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.errors import SpecError, UsageError

#: the search interval of T
BOUNDS = (1e-3, 1e3)


@dataclass
class TemperatureFit:
    """A fitted (or given) temperature and what the fit saw.

    Attributes:
        temperature: ``T`` (NaN when nothing could be fitted).
        nll_before: mean NLL on the fitting split at ``T = 1``.
        nll_after: mean NLL on the fitting split at ``T``.
        n: samples in the fitting split.
        at_bound: whether ``T`` ended on a bound of the search interval.
        note: ``fitted``, ``given`` or why no fit was possible.

    """

    temperature: float
    nll_before: float
    nll_after: float
    n: int
    at_bound: bool
    note: str = "fitted"

    def as_dict(self) -> dict[str, object]:
        """For the record (bounds and optimiser included)."""
        return {**asdict(self), "bounds": list(BOUNDS), "optimiser": "bounded Brent on log T, xatol 1e-6"}


def mean_nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """Mean ``-log softmax(z / T)[y]`` in float64.

    Example:
        >>> round(mean_nll(torch.zeros(2, 4), torch.tensor([0, 3]), 1.0), 4)
        1.3863

    """
    logp = torch.log_softmax(logits.double() / temperature, dim=1)
    return float(-logp.gather(1, labels.long()[:, None]).mean())


def fit_temperature(logits: torch.Tensor, labels: np.ndarray, bounds: tuple[float, float] = BOUNDS) -> TemperatureFit:
    """Fit ``T`` by minimising the NLL of ``softmax(logits / T)`` (rows must have finite softmax).

    Degenerate inputs give defined results: no samples -> ``T = NaN``; a single class -> ``T = 1`` (the NLL is 0
    whatever ``T``).

    Example:
        >>> fit_temperature(torch.zeros(0, 3), np.zeros(0, dtype=int)).note
        'no samples in the fitting split'

    """
    from scipy.optimize import minimize_scalar

    z = logits.detach().double().cpu()
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    n = int(z.shape[0])
    if n == 0:
        nan = float("nan")
        return TemperatureFit(nan, nan, nan, 0, False, "no samples in the fitting split")
    before = mean_nll(z, y, 1.0)
    if z.shape[1] < 2:
        return TemperatureFit(1.0, before, before, n, False, "single class: the NLL does not depend on T")
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    result = minimize_scalar(lambda u: mean_nll(z, y, math.exp(u)), bounds=(lo, hi), method="bounded",
                             options={"xatol": 1e-6})  # fmt: skip
    u = float(result.x)
    # Brent never evaluates the end points themselves: compare with them explicitly
    candidates = [(mean_nll(z, y, math.exp(v)), v) for v in (u, lo, hi)]
    best_nll, best_u = min(candidates)
    at_bound = abs(best_u - lo) < 1e-3 or abs(best_u - hi) < 1e-3
    return TemperatureFit(math.exp(best_u), before, best_nll, n, at_bound)


#: what ``calibration.ts_split`` may be, in the words of its error message
TS_SPLIT_FORMS = (
    "a fraction in (0, 1) such as 0.5, or a whole number of samples >= 1 such as 5000 (counts are written as "
    "integers: 1.0 is neither)"
)


def heldout_split(n: int, size: float | int, seed: int) -> np.ndarray:
    """Positions ``0..n-1`` of a seeded fitting split of ``size``: a fraction in (0, 1) or an integer count.

    A float is always a fraction, so ``1.0`` (or ``2.0``) is refused rather than read as a count of one (or two)
    samples; an integer is always a count. A fraction leaves at least one sample out of the split (``0.99`` of 10
    fits on 9), so the fitting split never silently covers every sample it is then scored on; a count larger than
    the set takes it all (fitting on the whole of another in-distribution set, ``calibration.id``).

    Example:
        >>> heldout_split(10, 0.5, 0).size, heldout_split(10, 3, 0).size, heldout_split(10, 0.99, 0).size
        (5, 3, 9)
        >>> heldout_split(10, 1.0, 0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: calibration.ts_split must be a fraction in (0, 1) such as 0.5, or ... got 1.0

    """
    fraction = _is_fraction(size)
    if not (fraction or _is_count(size)):
        raise UsageError(f"calibration.ts_split must be {TS_SPLIT_FORMS}; got {size!r}")
    k = min(int(round(float(size) * n)), max(n - 1, 0)) if fraction else min(int(size), n)
    return np.random.default_rng(seed).permutation(n)[:k]


def _is_fraction(size: object) -> bool:
    return isinstance(size, float | np.floating) and 0.0 < size < 1.0


def _is_count(size: object) -> bool:
    return isinstance(size, int | np.integer) and not isinstance(size, bool | np.bool_) and size >= 1


def check_ts_split(size: object) -> float | int:
    """``size`` if it is a valid ``ts_split`` (see :func:`heldout_split`), else SpecError: a ``Param`` check.

    Example:
        >>> check_ts_split(0.5), check_ts_split(5000)
        (0.5, 5000)
        >>> check_ts_split(1.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: must be a fraction in (0, 1) such as 0.5, or a whole number ... got 1.0

    """
    if not (_is_fraction(size) or _is_count(size)):
        raise SpecError(f"must be {TS_SPLIT_FORMS}; got {size!r}")
    return size  # type: ignore[return-value]
