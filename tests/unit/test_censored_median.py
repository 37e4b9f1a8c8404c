"""The median of minimal attack radii censored at eps_max: the lower median, checked against numpy's inverse-CDF
quantile (``method='inverted_cdf'``) with the censored images as ``inf``, and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from zeroshift.metrics.adversarial import CENSORED_MEDIAN_RULE, censored_median
from zeroshift.metrics.base import _resample_blocks


def numpy_reference(eps: np.ndarray, eps_max: float) -> tuple[float, bool]:
    """numpy's inverted-CDF median; ``inf`` there means the median radius lies beyond eps_max."""
    q = float(np.quantile(eps, 0.5, method="inverted_cdf"))
    return (eps_max, True) if q > eps_max else (q, False)


def test_a_measured_radius_is_never_averaged_with_a_censored_one() -> None:
    # the case: one image flips at 0.01, one resists 16/255. Half the images flip at 0.01.
    assert censored_median(np.array([0.01, np.inf]), 16 / 255) == (0.01, False)
    # more than half resist: the median is only known to be at least eps_max
    assert censored_median(np.array([np.inf, 0.01, np.inf]), 16 / 255) == (16 / 255, True)
    assert censored_median(np.array([np.inf, np.inf]), 0.1) == (0.1, True)
    # exactly half resist, four images: the second smallest radius flips two of four
    assert censored_median(np.array([np.inf, 0.03, np.inf, 0.0]), 0.1) == (0.03, False)
    assert censored_median(np.zeros(0), 0.1)[1] is False and np.isnan(censored_median(np.zeros(0), 0.1)[0])


@pytest.mark.parametrize("seed", range(5))
def test_equals_numpy_inverse_cdf_median_on_random_censored_samples(seed: int) -> None:
    rng = np.random.default_rng(seed)
    eps_max = 16 / 255
    for _ in range(200):
        n = int(rng.integers(1, 40))
        eps = np.round(rng.uniform(0, eps_max, n), 3)  # ties, as bisection on a grid gives
        eps[rng.random(n) < rng.uniform(0, 0.9)] = np.inf
        eps[rng.random(n) < 0.1] = 0.0  # already misclassified
        assert censored_median(eps, eps_max) == numpy_reference(eps, eps_max), eps


def test_bootstrap_replicates_use_the_same_definition() -> None:
    rng = np.random.default_rng(0)
    eps = np.r_[rng.uniform(0, 0.05, 30), np.full(28, np.inf)]  # close to half censored: replicates of both kinds
    kinds = set()
    for block in _resample_blocks(eps.size, 200, 0):
        for idx in block:
            got = censored_median(eps[idx], 0.0627)
            assert got == numpy_reference(eps[idx], 0.0627)
            kinds.add(got[1])
    assert kinds == {True, False}
    assert "lower median" in CENSORED_MEDIAN_RULE and "bootstrap" in CENSORED_MEDIAN_RULE
