"""Paired comparisons: McNemar exact and mid-p p-values equal hand computations; the paired bootstrap behaves."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest

from zeroshift.errors import UsageError
from zeroshift.reports.paired import align, mcnemar, mcnemar_p, paired_bootstrap, paired_test
from zeroshift.results.schema import SampleOutputs


def outcomes(both, only_a, only_b, neither):
    """Outcome vectors with the given counts of each (A, B) pair."""
    a = [1] * both + [1] * only_a + [0] * only_b + [0] * neither
    b = [1] * both + [0] * only_a + [1] * only_b + [0] * neither
    return np.array(a, bool), np.array(b, bool)


def hand_exact(b, c):
    """2 * P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), as an exact fraction."""
    n, k = b + c, min(b, c)
    return min(Fraction(1), 2 * Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n))


def hand_mid_p(b, c):
    n, k = b + c, min(b, c)
    return min(
        Fraction(1), 2 * (Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n) - Fraction(comb(n, k), 2 ** (n + 1)))
    )


def test_mcnemar_small_table_by_hand():
    # discordant 6 vs 1: exact = 2 * (1 + 7) / 128 = 1/8; mid-p = 2 * (1 + 7/2) / 128 = 9/128
    a, b = outcomes(both=20, only_a=6, only_b=1, neither=3)
    exact = mcnemar(a, b)
    assert (exact.only_a, exact.only_b, exact.n) == (6, 1, 30)
    assert exact.p_value == pytest.approx(1 / 8, abs=1e-12)
    assert mcnemar(a, b, mid_p=True).p_value == pytest.approx(9 / 128, abs=1e-12)
    assert exact.difference == pytest.approx((26 - 21) / 30)


def test_mcnemar_15_discordant_by_hand():
    # b = 3, c = 12: exact = 2 * (1 + 15 + 105 + 455) / 2^15 = 1152 / 32768; mid-p = (1152 - 455) / 32768
    assert mcnemar_p(3, 12) == pytest.approx(1152 / 32768, abs=1e-12)
    assert mcnemar_p(12, 3, mid_p=True) == pytest.approx(697 / 32768, abs=1e-12)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 5), (0, 9), (17, 40), (120, 151)])
def test_mcnemar_matches_exact_fractions(b, c):
    assert mcnemar_p(b, c) == pytest.approx(float(hand_exact(b, c)), rel=1e-9, abs=1e-15)
    assert mcnemar_p(b, c, mid_p=True) == pytest.approx(float(hand_mid_p(b, c)), rel=1e-9, abs=1e-15)


def test_no_disagreement_means_no_evidence():
    a, b = outcomes(both=10, only_a=0, only_b=0, neither=4)
    assert mcnemar(a, b).p_value == 1.0
    boot = paired_bootstrap(a, b, n_boot=200)
    assert boot.difference == 0.0 and boot.p_value == 1.0


def test_paired_bootstrap_separates_clear_and_null_differences():
    a, b = outcomes(both=100, only_a=40, only_b=5, neither=55)
    clear = paired_bootstrap(a, b, n_boot=2000, seed=1)
    assert clear.difference == pytest.approx(35 / 200)
    assert clear.ci_low < clear.difference < clear.ci_high and clear.ci_low > 0
    assert clear.p_value < 0.01
    a, b = outcomes(both=100, only_a=20, only_b=21, neither=59)
    null = paired_bootstrap(a, b, n_boot=2000, seed=1)
    assert null.ci_low < 0 < null.ci_high
    assert null.p_value > 0.5
    # the bootstrap p-value of a symmetric null is close to McNemar's
    assert null.p_value == pytest.approx(mcnemar(a, b).p_value, abs=0.1)


def test_unknown_test_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown test"):
        paired_test([1], [0], "ttest")


def samples(ids, labels, preds):
    return SampleOutputs(list(ids), list(labels), [[p] for p in preds], [[1.0] for _ in preds])


def test_align_joins_on_sample_ids_and_rejects_clashing_labels():
    a = samples(["x", "y", "z"], [0, 1, 2], [0, 0, 2])
    b = samples(["z", "y", "w"], [2, 1, 3], [1, 1, 3])
    ids, ca, cb, counts = align(a, b)
    assert ids == ["y", "z"]
    assert ca.tolist() == [False, True] and cb.tolist() == [True, False]
    assert counts == {"shared": 2, "only_in_a": 1, "only_in_b": 1}
    with pytest.raises(UsageError, match="label 1 shared samples differently"):
        align(a, samples(["x"], [5], [5]))
    with pytest.raises(UsageError, match="share no sample"):
        align(a, samples(["q"], [0], [0]))
