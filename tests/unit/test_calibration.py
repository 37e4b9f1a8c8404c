"""Calibration metrics against references (torchmetrics, netcal, the formulas) and on degenerate inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, softmax

from zeroshift.core.numeric import finite_rows
from zeroshift.core.outputs import Outputs
from zeroshift.data.base import LabelSpace
from zeroshift.errors import UsageError
from zeroshift.metrics.calibration import (
    adaptive_calibration_error,
    brier_score,
    calibration_group,
    confidence_and_correct,
    equal_width_bin_index,
    expected_calibration_error,
    maximum_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)


def random_probs(seed: int, n: int = 600, c: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(c, 0.4), size=n)
    # labels that agree with the argmax more often than chance, so bins hold both hits and misses
    labels = np.where(rng.random(n) < 0.6, probs.argmax(1), rng.integers(0, c, n))
    return probs, labels


def outputs_of(logits: torch.Tensor, labels: np.ndarray) -> Outputs:
    c = logits.shape[1]
    names = [f"c{i}" for i in range(c)]
    space = LabelSpace.from_columns("full", names, "toy", names, list(range(c)))
    return Outputs([f"s{i}" for i in range(len(labels))], np.asarray(labels), logits, None, space)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [10, 15, 20])
def test_ece_and_mce_match_torchmetrics_and_netcal(seed: int, n_bins: int) -> None:
    from netcal.metrics import ECE, MCE
    from torchmetrics.functional.classification import multiclass_calibration_error

    probs, labels = random_probs(seed)
    conf, correct = confidence_and_correct(torch.log(torch.tensor(probs)), labels)
    np.testing.assert_allclose(conf, probs.max(1), rtol=1e-12)
    p, y = torch.tensor(probs), torch.tensor(labels)
    # torchmetrics bins are [lo, hi) (1.0 in an extra bin); random confidences never sit on an edge
    tm_ece = multiclass_calibration_error(p, y, probs.shape[1], n_bins, "l1").item()
    tm_mce = multiclass_calibration_error(p, y, probs.shape[1], n_bins, "max").item()
    assert expected_calibration_error(conf, correct, n_bins) == pytest.approx(tm_ece, abs=1e-6)
    assert maximum_calibration_error(conf, correct, n_bins) == pytest.approx(tm_mce, abs=1e-6)
    assert expected_calibration_error(conf, correct, n_bins) == pytest.approx(
        ECE(bins=n_bins).measure(probs, labels), abs=1e-9
    )
    assert maximum_calibration_error(conf, correct, n_bins) == pytest.approx(
        MCE(bins=n_bins).measure(probs, labels), abs=1e-9
    )


def test_bins_are_left_open_right_closed_with_the_first_closed_at_zero() -> None:
    edges_hits = np.array([0.0, 0.2, 0.4, 1.0, 0.2000001, 0.6])
    # 5 bins: 0 -> first bin; 0.2 is the upper edge of bin 0; 1.0 in the last bin; 0.6 (float edge 0.6000..01) bin 2
    assert equal_width_bin_index(edges_hits, 5).tolist() == [0, 0, 1, 4, 1, 2]
    bins = reliability_bins(edges_hits, np.ones(6, dtype=bool), 5)
    assert [b["count"] for b in bins] == [2, 2, 1, 0, 1]
    assert bins[3]["confidence"] is None and bins[3]["accuracy"] is None
    assert (bins[0]["lo"], bins[0]["hi"]) == (0.0, 0.2)


def test_reliability_bins_reproduce_ece_and_mce() -> None:
    probs, labels = random_probs(5)
    conf, correct = probs.max(1), probs.argmax(1) == labels
    bins = reliability_bins(conf, correct, 15)
    assert sum(b["count"] for b in bins) == len(labels)
    used = [b for b in bins if b["count"]]
    ece = sum(b["count"] / len(labels) * abs(b["accuracy"] - b["confidence"]) for b in used)
    assert ece == pytest.approx(expected_calibration_error(conf, correct, 15), abs=1e-12)
    assert max(abs(b["accuracy"] - b["confidence"]) for b in used) == pytest.approx(
        maximum_calibration_error(conf, correct, 15), abs=1e-12
    )


def test_adaptive_ece_hand_computed_with_unequal_bin_sizes() -> None:
    conf = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8])
    correct = np.array([1, 0, 1, 0, 1, 1, 0], dtype=bool)
    # sorted: 0.1(F) 0.2(T) 0.3(F) | 0.5(T) 0.7(T) | 0.8(F) 0.9(T); sizes 3, 2, 2
    gaps = [abs(1 / 3 - 0.2) * 3, abs(1.0 - 0.6) * 2, abs(0.5 - 0.85) * 2]
    assert adaptive_calibration_error(conf, correct, 3) == pytest.approx(sum(gaps) / 7)
    # more bins than samples: every sample its own bin, i.e. the mean of |correct - confidence|
    assert adaptive_calibration_error(conf, correct, 50) == pytest.approx(np.mean(np.abs(correct - conf)))


@pytest.mark.parametrize("seed", [0, 3])
def test_nll_and_brier_match_their_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=4.0, size=(300, 9))
    y = rng.integers(0, 9, 300)
    nll = negative_log_likelihood(torch.tensor(z), y)
    np.testing.assert_allclose(nll, -log_softmax(z, axis=1)[np.arange(300), y], rtol=1e-10)
    p = softmax(z, axis=1)
    brier = np.array([sum((p[i, c] - (c == y[i])) ** 2 for c in range(9)) for i in range(300)])
    np.testing.assert_allclose(brier_score(torch.tensor(z), y), brier, rtol=1e-10)


def test_group_reports_before_and_after_scaling_with_reliability_bins() -> None:
    rng = np.random.default_rng(0)
    z = torch.tensor(rng.normal(scale=3.0, size=(400, 5)))
    y = np.array([rng.choice(5, p=p) for p in torch.softmax(z, 1).numpy()])
    values = {v.name: v for v in calibration_group(outputs_of(z * 3.0, y), None, n_boot=50)}
    assert set(values) == {
        *(f"{m}{s}" for m in ("ece", "ece_adaptive", "mce", "nll", "brier") for s in ("", "_ts")),
        "temperature",
    }
    assert values["temperature"].value == pytest.approx(3.0, rel=0.25)
    assert values["ece_ts"].value < values["ece"].value and values["nll_ts"].value < values["nll"].value
    bins = values["ece"].details["bins"]
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 400
    assert set(bins[0]) == {"lo", "hi", "confidence", "accuracy", "count"}
    assert values["ece"].ci_low <= values["ece"].value <= values["ece"].ci_high
    # without a context the outputs are their own in-distribution set: T is fitted on half, measured on the rest
    assert values["ece_ts"].details["n"] == 200 and values["temperature"].details["split"]["fit_size"] == 200


def test_all_correct_all_wrong_and_single_class_give_defined_results() -> None:
    z = torch.tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [4.0, 1.0, 0.0]])
    right = np.array([0, 1, 2, 0])
    vals = {v.name: v for v in calibration_group(outputs_of(z, right), None, n_boot=20)}
    conf = torch.softmax(z.double(), 1).max(1).values.numpy()
    assert vals["ece"].value == pytest.approx(1 - conf.mean())
    assert vals["temperature"].details["at_bound"] and vals["temperature"].value == pytest.approx(1e-3, rel=1e-3)
    wrong = np.array([1, 0, 0, 2])
    vals = {v.name: v for v in calibration_group(outputs_of(z, wrong), None, n_boot=20)}
    assert vals["ece"].value == pytest.approx(conf.mean())
    assert vals["temperature"].details["at_bound"] and vals["temperature"].value == pytest.approx(1e3, rel=1e-3)
    one = {v.name: v for v in calibration_group(outputs_of(torch.randn(6, 1), np.zeros(6, int)), None, n_boot=20)}
    assert one["ece"].value == 0.0 and one["nll"].value == 0.0 and one["brier"].value == 0.0
    assert one["temperature"].value == 1.0 and "single class" in one["temperature"].details["note"]


def test_nonfinite_logits_are_left_out_and_counted() -> None:
    rng = np.random.default_rng(1)
    z = torch.tensor(rng.normal(size=(40, 4)))
    y = rng.integers(0, 4, 40)
    bad = z.clone()
    bad[3, 1], bad[7, 0], bad[9] = float("nan"), float("inf"), float("-inf")
    bad[11, 2] = float("-inf")  # a class with probability 0 is fine
    assert finite_rows(bad).tolist().count(False) == 3
    got = {v.name: v for v in calibration_group(outputs_of(bad, y), None, n_boot=0)}
    keep = finite_rows(bad)
    ref = {v.name: v for v in calibration_group(outputs_of(bad[torch.from_numpy(keep)], y[keep]), None, n_boot=0)}
    assert got["ece"].details["n_nonfinite"] == 3 and got["ece"].details["n"] == 37
    for name in ("ece", "ece_adaptive", "mce", "nll", "brier"):
        assert got[name].value == pytest.approx(ref[name].value) and np.isfinite(got[name].value)


def test_no_samples_gives_nan_not_a_crash() -> None:
    vals = {v.name: v for v in calibration_group(outputs_of(torch.empty(0, 3), np.zeros(0, int)), None, n_boot=10)}
    assert np.isnan(vals["ece"].value) and np.isnan(vals["temperature"].value)
    assert vals["ece_ts"].details["reason"] == "no samples in the fitting split"
    assert vals["ece"].as_dict()["value"] is None  # stored as null, never NaN in JSON


def test_given_temperature_and_bad_parameters() -> None:
    rng = np.random.default_rng(2)
    z, y = torch.tensor(rng.normal(size=(50, 3))), rng.integers(0, 3, 50)
    vals = {v.name: v for v in calibration_group(outputs_of(z, y), None, temperature=2.0, n_boot=0)}
    assert vals["temperature"].value == 2.0
    expected = negative_log_likelihood(z / 2.0, y).mean()
    assert vals["nll_ts"].value == pytest.approx(expected) and vals["nll_ts"].details["n"] == 50
    for bad in ({"temperature": -1.0}, {"ts_split": 1.5}, {"ts_split": 0}, {"n_bins": 0}, {"adaptive_bins": -2}):
        with pytest.raises(UsageError):
            calibration_group(outputs_of(z, y), None, n_boot=0, **bad)
