"""Effective robustness intervals that cover the model's own sampling error: Clopper-Pearson parts checked
against scipy's exact binomial interval (``binomtest(...).proportion_ci(method='exact')``), the composition
against a hand-built case, and the coverage of the true effective robustness over simulated test sets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from zeroshift.errors import UsageError
from zeroshift.reports.effective_robustness import (
    ER_INTERVAL_METHODS,
    clopper_pearson,
    effective_robustness,
    effective_robustness_interval,
    fit_trend,
    inverse_transform,
    transform,
)


def exact(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return ci.low, ci.high


def test_clopper_pearson_equals_scipy_exact_interval() -> None:
    rng = np.random.default_rng(0)
    cases = [(0, 10), (10, 10), (1, 1), (0, 1), (5, 10)] + [tuple(sorted(rng.integers(0, 5000, 2))) for _ in range(40)]
    for k, n in cases:
        if n == 0:
            continue
        for alpha in (0.05, 0.05 / 3, 0.005):
            assert clopper_pearson(int(k), int(n), alpha) == pytest.approx(exact(int(k), int(n), 1 - alpha), abs=1e-12)


def test_interval_composes_the_exact_intervals_through_the_trend() -> None:
    x = np.linspace(0.4, 0.9, 12)
    fit = fit_trend(x, inverse_transform(0.9 * transform(x) - 0.8), n_boot=0)  # one line: no trend spread
    acc_id, acc_shift, n_id, n_shift = 0.75, 0.52, 2000, 500
    er, lo, hi, record = effective_robustness_interval(fit, acc_id, acc_shift, n_id, n_shift, alpha=0.06)
    s_lo, s_hi = exact(260, 500, 0.98)  # each of the three parts at 1 - 0.06 / 3
    i_lo, i_hi = exact(1500, 2000, 0.98)
    trend = inverse_transform(0.9 * transform(np.array([i_lo, i_hi])) - 0.8)  # increasing: ends map to ends
    assert er == pytest.approx(0.52 - float(inverse_transform(0.9 * transform(0.75) - 0.8)))
    assert lo == pytest.approx(s_lo - trend[1], abs=1e-9) and hi == pytest.approx(s_hi - trend[0], abs=1e-9)
    assert record["k_id"] == 1500 and record["k_shift"] == 260 and record["method"] == "clopper_pearson"
    assert record["confidence"] == pytest.approx(0.94) and "Clopper-Pearson" in ER_INTERVAL_METHODS["clopper_pearson"]


def test_the_interval_covers_the_true_effective_robustness_of_a_sampled_model() -> None:
    # a population exactly on a known trend; a model 5 points above it, measured on 1000 + 500 images
    x = np.linspace(0.4, 0.9, 30)
    trend = lambda p: inverse_transform(1.1 * transform(p) - 0.9)  # noqa: E731
    fit = fit_trend(x, trend(x), n_boot=200)
    p_id, n_id, n_shift = 0.7, 1000, 500
    p_shift = float(trend(p_id)) + 0.05
    true_er = p_shift - float(trend(p_id))
    rng = np.random.default_rng(1)
    hits = {"clopper_pearson": 0, "bootstrap": 0, "fit only": 0}
    trials = 400
    for trial in range(trials):
        acc_id = rng.binomial(n_id, p_id) / n_id
        acc_shift = rng.binomial(n_shift, p_shift) / n_shift
        for method in ("clopper_pearson", "bootstrap"):
            _, lo, hi, _ = effective_robustness_interval(fit, acc_id, acc_shift, n_id, n_shift, method, seed=trial)
            hits[method] += lo <= true_er <= hi
        _, lo_fit, hi_fit = effective_robustness(fit, acc_id, acc_shift)  # the trend's uncertainty only
        hits["fit only"] += lo_fit <= true_er <= hi_fit
    assert hits["clopper_pearson"] / trials >= 0.95  # conservative by construction
    assert 0.9 <= hits["bootstrap"] / trials <= 0.99  # about nominal
    assert hits["fit only"] / trials < 0.5  # the fit-only interval ignores that the model's accuracies are estimates


def test_bootstrap_interval_of_the_shifted_part_matches_the_binomial_quantiles() -> None:
    # one trend line and a huge ID set: only the shifted count varies, so the percentile interval must sit at
    # the binomial distribution's own quantiles (scipy), up to the Monte Carlo error of 1000 replicates
    x = np.linspace(0.4, 0.9, 12)
    fit = fit_trend(x, inverse_transform(transform(x) - 0.5), n_boot=0)
    n_shift, k_shift = 400, 150
    er, lo, hi, record = effective_robustness_interval(fit, 0.8, k_shift / n_shift, 10**9, n_shift, "bootstrap")
    expected = float(fit.predict(0.8))
    q_lo, q_hi = binom.ppf([0.025, 0.975], n_shift, k_shift / n_shift) / n_shift
    assert abs((lo + expected) - q_lo) <= 2 / n_shift and abs((hi + expected) - q_hi) <= 2 / n_shift
    assert record["method"] == "bootstrap" and record["replicates"] == 1000
    with pytest.raises(UsageError, match="interval method must be one of clopper_pearson, bootstrap"):
        effective_robustness_interval(fit, 0.8, 0.5, 10, 10, "wald")


def test_bad_counts_are_one_line() -> None:
    x = np.linspace(0.4, 0.9, 5)
    fit = fit_trend(x, x - 0.1, n_boot=10)
    with pytest.raises(UsageError, match="not a whole number of correct samples out of n_shift=7"):
        effective_robustness_interval(fit, 0.5, 0.5, 10, 7)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(UsageError, match="n_id must be a positive sample count"):
            effective_robustness_interval(fit, 0.5, 0.5, bad, 10)
    with pytest.raises(UsageError, match="accuracy must be in"):
        effective_robustness_interval(fit, 0.5, 1.5, 10, 10)
