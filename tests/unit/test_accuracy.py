import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, top_k_accuracy_score

from zeroshift.core.outputs import Outputs
from zeroshift.data.base import LabelSpace
from zeroshift.metrics.accuracy import accuracy_group, mean_per_class_recall, topk_correct
from zeroshift.metrics.base import bootstrap_ci


def make_outputs(logits, labels):
    n_classes = logits.shape[1]
    space = LabelSpace.from_columns(
        "full", [str(i) for i in range(n_classes)], "u", [str(i) for i in range(n_classes)], list(range(n_classes))
    )
    return Outputs([str(i) for i in range(len(labels))], np.asarray(labels), torch.as_tensor(logits), None, space)


def test_against_sklearn_on_random_inputs():
    rng = np.random.default_rng(0)
    for _trial in range(5):
        n, c = 300, 12
        logits = rng.normal(size=(n, c)).astype(np.float32)
        labels = rng.integers(0, c, size=n)
        logits[np.arange(n), labels] += rng.uniform(0, 2)  # some signal
        values = {m.name: m for m in accuracy_group(make_outputs(logits, labels), None, n_boot=200)}
        assert np.isclose(values["top1"].value, top_k_accuracy_score(labels, logits, k=1, labels=range(c)))
        assert np.isclose(values["top5"].value, top_k_accuracy_score(labels, logits, k=5, labels=range(c)))
        assert np.isclose(values["mean_per_class_recall"].value, balanced_accuracy_score(labels, logits.argmax(1)))
        for m in values.values():
            assert m.ci_low <= m.value <= m.ci_high and m.higher_is_better


def test_hand_computed_case():
    logits = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    labels = np.array([0, 1, 1, 1])
    assert topk_correct(logits, labels, 1).tolist() == [True, True, False, False]
    assert topk_correct(logits, labels, 2).tolist() == [True, True, True, True]
    # class 0: 1/1, class 1: 1/3 -> mean 2/3
    assert np.isclose(mean_per_class_recall(topk_correct(logits, labels, 1), labels), 2 / 3)


def test_unlabelled_samples_are_ignored_and_top5_caps_at_class_count():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    values = {m.name: m.value for m in accuracy_group(make_outputs(logits, [0, 0, -1]), None, n_boot=50)}
    assert values["top1"] == 0.5 and values["top5"] == 1.0


def test_bootstrap_is_seeded_and_covers_the_truth():
    data = np.random.default_rng(1).random(500) < 0.3
    a = bootstrap_ci(lambda idx: data[idx].mean(), data.size, n_boot=300, seed=4)
    assert a == bootstrap_ci(lambda idx: data[idx].mean(), data.size, n_boot=300, seed=4)
    assert a[0] < data.mean() < a[1] and a[1] - a[0] < 0.12
    assert np.isnan(bootstrap_ci(lambda idx: 0.0, 1)[0])


@pytest.mark.parametrize("n", [2, 501, 9000])
def test_blocked_mean_bootstrap_equals_the_generic_one(n):
    from zeroshift.metrics.base import mean_with_ci

    x = np.random.default_rng(n).random(n)
    generic = bootstrap_ci(lambda idx: float(x[idx].mean()), n, n_boot=700, alpha=0.1, seed=3)
    fast = mean_with_ci(x, "m", True, {"n_boot": 700, "alpha": 0.1, "seed": 3})
    assert np.allclose((fast.ci_low, fast.ci_high), generic, rtol=0, atol=1e-12)
