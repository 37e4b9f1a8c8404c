"""Temperature scaling recovers a known temperature; the fitting split is seeded and sized as asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zeroshift.errors import UsageError
from zeroshift.metrics.temperature import fit_temperature, heldout_split, mean_nll


def synthetic(n: int, classes: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Calibrated logits: labels drawn from their own softmax."""
    rng = np.random.default_rng(seed)
    z = torch.tensor(rng.normal(scale=2.0, size=(n, classes)))
    p = torch.softmax(z, 1).numpy()
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, y


@pytest.mark.parametrize("true_t", [0.4, 1.0, 2.5])
def test_recovers_a_known_temperature(true_t: float) -> None:
    z, y = synthetic(20000, 10, seed=int(true_t * 10))
    fit = fit_temperature(z * true_t, y)  # logits true_t times too sharp (or too flat)
    assert fit.temperature == pytest.approx(true_t, rel=0.05)
    assert not fit.at_bound and fit.n == 20000
    assert fit.nll_after <= fit.nll_before + 1e-12
    # it is a minimum: nudging T either way does not lower the NLL
    for factor in (0.97, 1.03):
        assert mean_nll(z * true_t, torch.tensor(y), fit.temperature * factor) >= fit.nll_after - 1e-12


def test_split_is_seeded_sized_and_disjoint_from_its_complement() -> None:
    a, b = heldout_split(100, 0.3, seed=7), heldout_split(100, 0.3, seed=7)
    assert a.tolist() == b.tolist() and a.size == 30 and len(set(a.tolist())) == 30
    assert heldout_split(100, 0.3, seed=8).tolist() != a.tolist()
    assert heldout_split(10, 40, seed=0).size == 10  # a count larger than the set takes it all
    for bad in (0.0, 1.5, -3, "half", True):
        with pytest.raises(UsageError):
            heldout_split(10, bad, seed=0)
