"""Metric values, bootstrap confidence intervals and the metric-group protocol.

A **metric group** is a pure function ``(outputs, context, **params) -> list[MetricValue]`` registered in
:data:`zeroshift.metrics.metrics`; a benchmark names the groups it computes by default. Every value carries
``higher_is_better`` and, where it is an average over samples, a percentile bootstrap 95% interval.

Example:
    >>> import numpy as np
    >>> lo, hi = bootstrap_ci(lambda idx: float(np.mean(np.arange(10)[idx] >= 5)), n=10, n_boot=200, seed=0)
    >>> 0.0 <= lo <= 0.5 <= hi <= 1.0
    True

"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: bootstrap settings recorded in every RunRecord
DEFAULT_BOOTSTRAP = {"n_boot": 1000, "alpha": 0.05, "seed": 0, "method": "percentile"}


@dataclass
class MetricValue:
    """One number with its interval and direction.

    Attributes:
        name: metric name, e.g. ``top1`` or ``ece``.
        value: the value (fractions in [0, 1], never percent).
        higher_is_better: direction, for reports and paired comparisons.
        ci_low: lower end of the bootstrap interval (None where not applicable).
        ci_high: upper end of the bootstrap interval.
        details: anything structured that goes with the value (bins, per-class values, conventions).

    """

    name: str
    value: float
    higher_is_better: bool
    ci_low: float | None = None
    ci_high: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None, in ``details`` too)."""
        out = asdict(self)
        for key in ("value", "ci_low", "ci_high"):
            v = out[key]
            out[key] = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)
        out["details"] = json_safe(out["details"])
        return out


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf; numpy scalars too) replaced by None, recursively.

    Example:
        >>> json_safe({"a": [1.0, float("nan")], "b": np.float64("inf")})
        {'a': [1.0, None], 'b': None}

    """
    if isinstance(obj, dict):
        return {k if isinstance(k, str | int | float | bool) or k is None else str(k): json_safe(v)
                for k, v in obj.items()}  # fmt: skip
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.generic):  # numpy bools and the like
        return obj.item()
    return obj


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n: int,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(indices)`` over ``n`` samples resampled with replacement.

    Returns ``(nan, nan)`` for fewer than two samples; replicates where the statistic is undefined (NaN)
    are dropped.
    """
    if n < 2 or n_boot <= 0:
        return float("nan"), float("nan")
    values = np.fromiter(
        (statistic(idx) for block in _resample_blocks(n, n_boot, seed) for idx in block), dtype=np.float64, count=n_boot
    )
    return _percentile_interval(values, alpha)


def _resample_blocks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """The bootstrap resamples of ``n`` samples (rows of index arrays), drawn a block of about 2 MB at a time
    (small enough to stay in cache; a block per call instead of a call per replicate is what saves the time).
    """
    rng = np.random.default_rng(seed)
    block = max(1, (1 << 18) // n)
    for start in range(0, n_boot, block):
        yield rng.integers(0, n, size=(min(n_boot, start + block) - start, n))


def _percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def mean_with_ci(
    per_sample: np.ndarray,
    name: str,
    higher_is_better: bool,
    boot: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> MetricValue:
    """Mean of a per-sample array with a bootstrap interval (vectorised through index resampling)."""
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    x = np.asarray(per_sample, dtype=np.float64)
    value = float(x.mean()) if x.size else float("nan")
    lo, hi = _mean_bootstrap_ci(x, boot["n_boot"], boot["alpha"], boot["seed"])
    return MetricValue(name, value, higher_is_better, lo, hi, details or {})


def _mean_bootstrap_ci(x: np.ndarray, n_boot: int, alpha: float, seed: int) -> tuple[float, float]:
    """``bootstrap_ci`` of the mean over the same resamples, averaged a block of replicates at a time."""
    if x.size < 2 or n_boot <= 0:
        return float("nan"), float("nan")
    means = np.concatenate([x[idx].mean(axis=1) for idx in _resample_blocks(x.size, n_boot, seed)])
    return _percentile_interval(means, alpha)


def stratified_bootstrap(
    statistic: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    n_a: int,
    n_b: int,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of several statistics of two groups, each resampled within itself.

    ``statistic(idx_a, idx_b)`` returns named values (e.g. AUROC and FPR@95 of in-distribution vs OOD scores);
    resampling each group separately keeps the group sizes fixed, as two-sample metrics need. Empty groups or
    ``n_boot <= 0`` give ``(nan, nan)``; undefined replicates (NaN) are dropped per statistic.

    Example:
        >>> a, b = np.arange(20.0), np.arange(20.0) + 5
        >>> ci = stratified_bootstrap(lambda i, j: {"gap": b[j].mean() - a[i].mean()}, 20, 20, n_boot=200)
        >>> ci["gap"][0] < 5.0 < ci["gap"][1]
        True

    """
    if n_a < 1 or n_b < 1 or n_boot <= 0:
        names = statistic(np.arange(n_a), np.arange(n_b)).keys()
        return {k: (float("nan"), float("nan")) for k in names}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_boot):
        for k, v in statistic(rng.integers(0, n_a, size=n_a), rng.integers(0, n_b, size=n_b)).items():
            draws.setdefault(k, []).append(v)
    out = {}
    for k, values in draws.items():
        arr = np.asarray(values, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        out[k] = (
            (float(np.quantile(arr, alpha / 2)), float(np.quantile(arr, 1 - alpha / 2)))
            if arr.size
            else (float("nan"), float("nan"))
        )
    return out
