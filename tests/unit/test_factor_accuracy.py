"""factor_accuracy: per-level top-1 and error ratios against a hand count; accuracy on unlabelled sets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from zeroshift.metrics import groups as metrics
from zeroshift.metrics.accuracy import accuracy_group


def _outputs(labels, predictions, meta, n_classes=3):
    logits = torch.full((len(labels), n_classes), -1.0)
    logits[torch.arange(len(labels)), torch.tensor(predictions)] = 1.0
    return SimpleNamespace(labels=np.asarray(labels), logits=logits, meta=meta)


def test_levels_and_error_ratios_match_a_hand_count():
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    preds = [0, 1, 0, 0, 2, 2, 1, 1]  # correct: T T F T F T F T -> overall 5/8
    meta = {"style": ["a", "a", "a", "b", "b", "b", None, "b"], "size": ["s"] * 8}
    values = {
        v.name: v
        for v in metrics.get("factor_accuracy")(_outputs(labels, preds, meta), columns=("style", "size"), n_boot=200)
    }
    assert values["top1[style=a]"].value == pytest.approx(2 / 3)
    assert values["top1[style=b]"].value == pytest.approx(3 / 4)
    assert values["top1[size=s]"].value == pytest.approx(5 / 8)
    assert "top1[style=None]" not in values  # a factor that does not apply is left out
    assert values["top1[style=a]"].details["error_ratio"] == pytest.approx((1 / 3) / (3 / 8))
    assert values["top1[style=b]"].details["n"] == 4
    lo, hi = values["top1[style=b]"].ci_low, values["top1[style=b]"].ci_high
    assert 0.0 <= lo <= 0.75 <= hi <= 1.0


def test_a_varied_column_restricts_each_factor_to_the_samples_that_vary_it():
    labels = [0, 0, 0, 0]
    preds = [0, 1, 1, 0]
    meta = {"style": ["x", "y", "x", "x"], "size": ["s", "s", "m", "m"], "varied": ["style", "style", "size", "size"]}
    values = {
        v.name: v.value
        for v in metrics.get("factor_accuracy")(_outputs(labels, preds, meta), columns=("style", "size"), n_boot=0)
    }
    assert values == {"top1[style=x]": 1.0, "top1[style=y]": 0.0, "top1[size=m]": 0.5}


def test_unlabelled_sets_have_no_accuracy():
    out = _outputs([-1, -1], [0, 1], {})
    assert accuracy_group(out, n_boot=10) == []
    assert metrics.get("factor_accuracy")(out, columns=("style",)) == []
