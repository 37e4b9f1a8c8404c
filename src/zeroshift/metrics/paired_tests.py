"""Paired tests of two outcome vectors on the same samples: McNemar's exact or mid-p test, or a paired bootstrap.

The pure computations of :mod:`zeroshift.reports.paired` (which joins stored runs and re-exports these), in the
metrics layer so that metric groups (``lmm``: an LMM against its own CLIP) use them without importing reports.

Example:
    >>> t = mcnemar([1, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 1])
    >>> t.only_a, t.only_b, round(t.p_value, 4)
    (6, 1, 0.125)

"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP

METHODS = ("mcnemar", "midp", "bootstrap")


@dataclass
class PairedTest:
    """The outcome of a paired comparison.

    Attributes:
        method: ``mcnemar`` (exact), ``midp`` or ``bootstrap``.
        n: samples both runs evaluated.
        accuracy_a: accuracy of A on them.
        accuracy_b: accuracy of B on them.
        difference: ``accuracy_a - accuracy_b``.
        ci_low: lower end of the paired-bootstrap interval of the difference.
        ci_high: upper end.
        only_a: samples only A classifies correctly.
        only_b: samples only B classifies correctly.
        p_value: two-sided p-value of equal accuracy.

    """

    method: str
    n: int
    accuracy_a: float
    accuracy_b: float
    difference: float
    ci_low: float
    ci_high: float
    only_a: int
    only_b: int
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _as_bool(x: Any) -> np.ndarray:
    return np.asarray(x).astype(bool)


def mcnemar_p(only_a: int, only_b: int, mid_p: bool = False) -> float:
    """Two-sided exact (or mid-p) McNemar p-value from the two discordant counts.

    Example:
        >>> round(mcnemar_p(1, 6), 4), round(mcnemar_p(1, 6, mid_p=True), 4)
        (0.125, 0.0703)

    """
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = stats.binom.cdf(k, n, 0.5)
    if mid_p:
        tail -= 0.5 * stats.binom.pmf(k, n, 0.5)
    return float(min(1.0, 2.0 * tail))


def _difference_ci(a: np.ndarray, b: np.ndarray, boot: dict[str, Any]) -> tuple[np.ndarray, float, float]:
    """Bootstrap replicates of the accuracy difference, and their percentile interval."""
    n = a.size
    d = a.astype(np.float64) - b.astype(np.float64)
    if n < 2 or boot["n_boot"] <= 0:
        return np.empty(0), float("nan"), float("nan")
    rng = np.random.default_rng(boot["seed"])
    # resample in blocks: (B, n) indices at once would not fit for ImageNet-sized runs
    reps = []
    for start in range(0, boot["n_boot"], 64):
        idx = rng.integers(0, n, size=(min(64, boot["n_boot"] - start), n))
        reps.append(d[idx].mean(axis=1))
    replicates = np.concatenate(reps)
    lo, hi = np.quantile(replicates, [boot["alpha"] / 2, 1 - boot["alpha"] / 2])
    return replicates, float(lo), float(hi)


def mcnemar(a_correct: Any, b_correct: Any, mid_p: bool = False, **boot: Any) -> PairedTest:
    """McNemar's exact (or mid-p) test of two paired outcome vectors (True = correct)."""
    a, b = _as_bool(a_correct), _as_bool(b_correct)
    if a.shape != b.shape:
        raise ValueError("the two outcome vectors must have the same length")
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    _, lo, hi = _difference_ci(a, b, settings)
    acc_a, acc_b = (float(v.mean()) if v.size else float("nan") for v in (a, b))
    return PairedTest(
        "midp" if mid_p else "mcnemar", a.size, acc_a, acc_b, acc_a - acc_b, lo, hi, only_a, only_b,
        mcnemar_p(only_a, only_b, mid_p),
    )  # fmt: skip


def paired_bootstrap(a_correct: Any, b_correct: Any, **boot: Any) -> PairedTest:
    """Paired bootstrap of the accuracy difference; p = (1 + #{|d* - d| >= |d|}) / (1 + B).

    Example:
        >>> t = paired_bootstrap([1] * 30 + [0] * 10, [0] * 30 + [1] * 10, n_boot=500)
        >>> t.difference, t.p_value < 0.01
        (0.5, True)

    """
    a, b = _as_bool(a_correct), _as_bool(b_correct)
    if a.shape != b.shape:
        raise ValueError("the two outcome vectors must have the same length")
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    replicates, lo, hi = _difference_ci(a, b, settings)
    diff = float(a.mean() - b.mean()) if a.size else float("nan")
    if replicates.size:
        extreme = int((np.abs(replicates - diff) >= abs(diff) - 1e-12).sum())
        p = (1 + extreme) / (1 + replicates.size)
    else:
        p = float("nan")
    return PairedTest(
        "bootstrap", a.size, float(a.mean()), float(b.mean()), diff, lo, hi,
        int((a & ~b).sum()), int((~a & b).sum()), float(min(1.0, p)),
    )  # fmt: skip


def paired_test(a_correct: Any, b_correct: Any, method: str = "mcnemar", **boot: Any) -> PairedTest:
    """Dispatch to :func:`mcnemar` (``mcnemar``, ``midp``) or :func:`paired_bootstrap` (``bootstrap``)."""
    if method == "bootstrap":
        return paired_bootstrap(a_correct, b_correct, **boot)
    if method in ("mcnemar", "midp"):
        return mcnemar(a_correct, b_correct, mid_p=method == "midp", **boot)
    raise UsageError(f"unknown test {method!r}; choose one of: {', '.join(METHODS)}")
