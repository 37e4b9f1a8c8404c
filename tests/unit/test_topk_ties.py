"""One tie rule for every class ranking: the lowest class index wins among equal scores (numpy argmax).

Oracles: numpy's ``argmax`` (k = 1), numpy's stable argsort of the negated scores (any k), and scikit-learn's
``top_k_accuracy_score``, which breaks ties the other way (``argsort(kind='mergesort')[:, ::-1]``: the highest
index wins), so it is given the classes in reverse order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import top_k_accuracy_score

from zeroshift.core.outputs import Outputs
from zeroshift.data.base import LabelSpace
from zeroshift.metrics.accuracy import TIE_RULE, accuracy_group, topk_correct


def tied_logits(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """Scores on a coarse grid (many ties within a row), some rows entirely equal."""
    z = np.round(rng.normal(size=(n, c)) * rng.uniform(0.3, 2)).astype(np.float32)
    z[rng.random(n) < 0.1] = 0.0
    return z


@pytest.mark.parametrize("seed", range(4))
def test_top_k_on_tied_logits_equals_a_stable_sort_argmax_and_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = 400, int(rng.integers(2, 30))
    z = tied_logits(rng, n, c)
    y = rng.integers(0, c, n)
    stable = np.argsort(-z, axis=1, kind="stable")  # equal scores keep their (ascending) class order
    assert np.array_equal(topk_correct(torch.from_numpy(z), y, 1), z.argmax(axis=1) == y)
    for k in range(1, c + 1):
        ours = topk_correct(torch.from_numpy(z), y, k, chunk=97)
        assert np.array_equal(ours, (stable[:, :k] == y[:, None]).any(axis=1)), k
        flipped = top_k_accuracy_score(c - 1 - y, z[:, ::-1], k=k, labels=range(c), normalize=False)
        assert ours.sum() == flipped, k


def test_float64_logits_are_ranked_in_their_own_precision_and_nan_ranks_first() -> None:
    z = torch.tensor([[1.0, 1.0 + 1e-12, 0.0]], dtype=torch.float64)  # tied only after rounding to float32
    assert topk_correct(z, np.array([1]), 1).tolist() == [True] == (z.argmax(dim=1) == 1).tolist()
    nan = float("nan")
    z = torch.tensor([[1.0, nan, 3.0, nan], [nan, 2.0, 0.0, 1.0]])
    order = torch.sort(z, dim=1, descending=True, stable=True).indices  # NaN first, ties by index
    for k in range(1, 5):
        for label in range(4):
            labels = np.full(2, label)
            want = (order[:, :k] == label).any(dim=1).numpy()
            assert np.array_equal(topk_correct(z, labels, k), want), (k, label)
    assert topk_correct(torch.zeros(2, 3), np.array([-1, 0]), 3).tolist() == [False, True]
    assert "lowest class index" in TIE_RULE


def test_the_accuracy_group_uses_the_argmax_rule() -> None:
    rng = np.random.default_rng(9)
    z = tied_logits(rng, 500, 10)
    y = rng.integers(0, 10, 500)
    space = LabelSpace.from_columns("full", [str(i) for i in range(10)], "u", [str(i) for i in range(10)], range(10))
    out = Outputs([str(i) for i in range(500)], y, torch.from_numpy(z), None, space)
    top1 = {m.name: m for m in accuracy_group(out, n_boot=10)}["top1"].value
    assert top1 == float(np.mean(z.argmax(axis=1) == y))
