"""Scores with and without the overlap: a per-sample metric on all, clean and overlapping samples, with intervals.

Given a model's per-sample metric on a benchmark (correctness for top-1, or any other per-sample value) and the
benchmark's per-sample overlap flags (from :func:`zeroshift.overlap.checks.overlap_check`, or a known ground truth),
:func:`contamination` reports

* ``overlap_rate``: the share of flagged samples;
* ``{metric}_all``, ``{metric}_clean``, ``{metric}_overlap``: the metric's mean on each subset, each with a
  percentile bootstrap interval over its own samples;
* ``{metric}_clean_minus_all``: the mean on clean samples minus the mean on all samples, with a **paired**
  bootstrap interval: each replicate resamples the whole benchmark once and recomputes both means on that resample
  (the subsets' sizes vary with the resample, as the flags are a property of the samples); replicates without a
  clean sample are dropped;
* ``{metric}_overlap_minus_clean``: the same for overlapping minus clean (how much the overlap inflates the metric).

Effective robustness on clean subsets reuses :mod:`zeroshift.reports.effective_robustness`:
:func:`effective_robustness_clean` places a model's all-sample and clean-sample accuracies against the same
fitted trend.

Example:
    >>> correct = np.array([1, 1, 1, 1, 0, 1, 0, 0, 1, 0], dtype=float)
    >>> flags = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    >>> metrics, protocol, _ = contamination(correct, flags, "top1", boot={"n_boot": 200})
    >>> {m.name: round(m.value, 4) for m in metrics}  # doctest: +NORMALIZE_WHITESPACE
    {'overlap_rate': 0.3, 'top1_all': 0.6, 'top1_clean': 0.4286, 'top1_overlap': 1.0,
     'top1_clean_minus_all': -0.1714, 'top1_overlap_minus_clean': 0.5714}

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci


def _subset_mean(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else float("nan")


def contamination(
    values: np.ndarray,
    overlap: np.ndarray,
    metric: str = "top1",
    higher_is_better: bool = True,
    boot: dict[str, Any] | None = None,
    flag_protocol: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """The metric on all, clean and overlapping samples, and the differences (see the module docstring).

    Args:
        values: the per-sample metric (e.g. 1.0 where top-1 is right); NaN samples are left out and counted.
        overlap: the per-sample overlap flags (same order).
        metric: the metric's name (prefix of the values' names).
        higher_is_better: the metric's direction.
        boot: bootstrap settings (default :data:`~zeroshift.metrics.base.DEFAULT_BOOTSTRAP`).
        flag_protocol: how the flags were made (recorded as is).

    Returns:
        The metric values, the protocol, and per-sample ``subset`` (``clean``, ``overlap`` or ``excluded``).

    """
    v = np.asarray(values, dtype=np.float64)
    f = np.asarray(overlap)
    if v.ndim != 1 or f.shape != v.shape:
        raise UsageError(f"per-sample values {v.shape} and overlap flags {f.shape} must be 1-d and of one length")
    if f.dtype != bool:
        if not np.isin(f, (0, 1)).all():
            raise UsageError("overlap flags must be booleans (or 0/1)")
        f = f.astype(bool)
    keep = np.isfinite(v)
    if not keep.any():
        raise UsageError(f"no finite per-sample {metric} value to score")
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    x, flags = v[keep], f[keep]
    clean = ~flags
    n = len(x)

    def paired(stat: Any) -> tuple[float, float]:
        return bootstrap_ci(stat, n, boot["n_boot"], boot["alpha"], boot["seed"])

    diff_ca = _subset_mean(x, clean) - float(x.mean())
    diff_oc = _subset_mean(x, flags) - _subset_mean(x, clean)
    ci_ca = paired(lambda idx: _subset_mean(x[idx], clean[idx]) - float(x[idx].mean()))
    ci_oc = paired(lambda idx: _subset_mean(x[idx], flags[idx]) - _subset_mean(x[idx], clean[idx]))
    counts = {"n": n, "n_clean": int(clean.sum()), "n_overlap": int(flags.sum()), "n_excluded": int((~keep).sum())}
    metrics = [
        mean_with_ci(flags.astype(np.float64), "overlap_rate", False, boot, counts),
        mean_with_ci(x, f"{metric}_all", higher_is_better, boot, {"n": n}),
        _subset_value(x[clean], f"{metric}_clean", higher_is_better, boot),
        _subset_value(x[flags], f"{metric}_overlap", higher_is_better, boot),
        MetricValue(f"{metric}_clean_minus_all", diff_ca, higher_is_better, *ci_ca, {"paired": True}),
        MetricValue(f"{metric}_overlap_minus_clean", diff_oc, higher_is_better, *ci_oc, {"paired": True}),
    ]
    protocol = {
        "analysis": "contamination",
        "metric": metric,
        **counts,
        "subsets": "clean = not flagged; overlap = flagged",
        "intervals": "percentile bootstrap; subset means resample within the subset; differences resample the "
        "whole benchmark (paired), replicates without a sample in a subset dropped",
        "bootstrap": boot,
        "flags": flag_protocol or {},
    }
    subset = np.full(len(v), "excluded", dtype=object)
    subset[keep] = np.where(flags, "overlap", "clean")
    return metrics, protocol, {"subset": subset.tolist()}


def _subset_value(x: np.ndarray, name: str, higher_is_better: bool, boot: dict[str, Any]) -> MetricValue:
    """The mean of a subset with its interval; NaN (and a note) for an empty subset."""
    if x.size == 0:
        return MetricValue(name, float("nan"), higher_is_better, None, None, {"n": 0, "note": "no sample"})
    return mean_with_ci(x, name, higher_is_better, boot, {"n": int(x.size)})


def effective_robustness_clean(
    fit: Any,
    acc_id: float,
    acc_shift_all: float,
    acc_shift_clean: float,
    acc_id_clean: float | None = None,
) -> dict[str, Any]:
    """A model's effective robustness on a shift from all samples and from clean samples, against one trend.

    Args:
        fit: a :class:`~zeroshift.reports.effective_robustness.TrendFit` of the baseline population.
        acc_id: the model's in-distribution accuracy.
        acc_shift_all: its accuracy on every sample of the shifted benchmark.
        acc_shift_clean: its accuracy on the clean samples of the shifted benchmark.
        acc_id_clean: its in-distribution accuracy on clean samples, when that set overlaps too (default ``acc_id``).

    Returns:
        ``{"all": (er, lo, hi), "clean": (er, lo, hi), "clean_minus_all": float, "acc_id_clean": float}``.

    Example:
        >>> from zeroshift.reports.effective_robustness import fit_trend, inverse_transform, transform
        >>> x = np.linspace(0.5, 0.9, 10)
        >>> fit = fit_trend(x, inverse_transform(transform(x) - 1.0), n_boot=100)
        >>> out = effective_robustness_clean(fit, 0.7, acc_shift_all=0.60, acc_shift_clean=0.55)
        >>> round(out["all"][0], 4), round(out["clean"][0], 4), round(out["clean_minus_all"], 4)
        (0.1381, 0.0881, -0.05)

    """
    from zeroshift.reports.effective_robustness import effective_robustness

    id_clean = acc_id if acc_id_clean is None else acc_id_clean
    er_all = effective_robustness(fit, acc_id, acc_shift_all)
    er_clean = effective_robustness(fit, id_clean, acc_shift_clean)
    return {"all": er_all, "clean": er_clean, "clean_minus_all": er_clean[0] - er_all[0], "acc_id_clean": id_clean}
