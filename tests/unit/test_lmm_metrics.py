"""The LMM-vs-CLIP comparison and the candidate selection, against hand computations, scipy and torch."""

import numpy as np
import pytest
import torch
from scipy import stats

from zeroshift.errors import SpecError, UsageError
from zeroshift.lmm.candidates import CandidateSpec, candidate_indices, clip_topk, strongest_wrong
from zeroshift.metrics.lmm import challenging_classes, choice_vs_clip, likelihood_vs_clip, restricted_predictions

NO_BOOT = {"n_boot": 0}


def values_of(values):
    return {v.name: v for v in values}


def test_clip_topk_matches_torch_topk():
    logits = np.random.default_rng(0).normal(size=(50, 20))
    expected = torch.topk(torch.from_numpy(logits), 5, dim=1).indices.numpy()
    np.testing.assert_array_equal(clip_topk(logits, 5), expected)


def test_strongest_wrong_is_the_failure_category():
    logits = np.array([[5.0, 4.0, 1.0], [5.0, 4.0, 1.0], [1.0, 2.0, 3.0]])
    # right at top-1 -> top-2; wrong -> the wrong top-1
    np.testing.assert_array_equal(strongest_wrong(logits, np.array([0, 2, 0])), [1, 0, 2])


def test_restricted_predictions_by_brute_force():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(40, 10))
    cands = np.stack([rng.choice(10, size=3, replace=False) for _ in range(40)])
    brute = [max(row, key=lambda c, i=i: logits[i, c]) for i, row in enumerate(cands)]
    np.testing.assert_array_equal(restricted_predictions(logits, cands), brute)


def test_candidate_errors():
    with pytest.raises(UsageError, match="candidate class 'kat' is not in the label space; did you mean 'cat'"):
        candidate_indices(["dog", "kat"], ["cat", "dog"])
    with pytest.raises(UsageError, match="k=4 must be between 1 and the 3 classes"):
        clip_topk(np.zeros((2, 3)), 4)
    with pytest.raises(SpecError, match="clip_topk takes k"):
        CandidateSpec.parse("clip_topk(k='5', model='hf:x')")
    with pytest.raises(SpecError, match="unknown candidates"):
        CandidateSpec.parse("top5")
    spec = CandidateSpec.parse("clip_topk(model='hf:/m', k=2)")
    np.testing.assert_array_equal(spec.select(1, 3, np.array([[0.0, 2.0, 1.0]])), [[1, 2]])
    with pytest.raises(UsageError, match="needs the logits"):
        spec.select(1, 3, None)


def test_challenging_classes_bottom_quartile_with_ties():
    acc = np.array([0.9, 0.1, 0.5, 0.1, 0.8, 0.7, 0.3, 0.6])  # 8 classes: ceil(2) lowest -> 0.1, 0.1
    mask, threshold = challenging_classes(acc, 0.25)
    assert threshold == 0.1 and np.flatnonzero(mask).tolist() == [1, 3]
    mask, _ = challenging_classes(acc, 0.5)  # 4 lowest: 0.1, 0.1, 0.3, 0.5
    assert np.flatnonzero(mask).tolist() == [1, 2, 3, 6]


def test_likelihood_vs_clip_hand_case():
    # 3 classes; class 0 is hard for the CLIP, classes 1 and 2 easy
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    clip = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], float)
    cands = np.tile([0, 1, 2], (8, 1))
    lmm = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]], float)
    values, protocol, cols = likelihood_vs_clip(lmm, cands, clip, labels, ["a", "b", "c"], quantile=0.3, boot=NO_BOOT)
    v = values_of(values)
    assert protocol["challenging"]["classes"] == ["a"]  # CLIP top-1 of class a: 1/4
    assert v["lmm_top1"].value == 7 / 8 and v["clip_restricted_top1"].value == 5 / 8
    assert v["lmm_top1_challenging"].value == 1.0 and v["clip_restricted_top1_challenging"].value == 0.25
    assert v["lmm_gain_challenging"].value == 0.75 and v["lmm_gain_rest"].value == -0.25
    # McNemar on the challenging group: 3 images only the LMM gets right, none only the CLIP
    assert v["lmm_gain_challenging"].details["p_value"] == pytest.approx(stats.binomtest(0, 3, 0.5).pvalue)
    assert v["lmm_gain"].details["p_value"] == pytest.approx(stats.binomtest(1, 4, 0.5).pvalue)
    per_class = {row["class"]: row for row in v["lmm_gain_per_class"].details["per_class"]}
    assert per_class["b"]["gain"] == -0.5 and per_class["a"]["challenging"]
    assert cols["lmm_correct"] == [True] * 5 + [False, True, True]


def test_restricted_clip_uses_the_same_candidates():
    # the CLIP's overall argmax (class 2) is not a candidate: restricted to {0, 1} it is right
    clip = np.array([[1.0, 0.0, 9.0]])
    values, _, cols = likelihood_vs_clip(np.array([[0.0, 1.0]]), np.array([[0, 1]]), clip, np.array([0]), "abc",
                                         boot=NO_BOOT)  # fmt: skip
    assert values_of(values)["clip_restricted_top1"].value == 1.0 and cols["clip_restricted_pred"] == [0]


def test_choice_vs_clip_counts_double_and_todo_apart():
    labels = np.array([0, 0, 1, 1, 2])
    other = np.array([1, 2, 0, 2, 0])
    clip = np.eye(3)[[1, 0, 0, 1, 2]] * 5  # wrong, right, wrong, right, right
    answers = ["TRUE", "DOUBLE", "TRUE", "TODO", "FALSE"]
    values, protocol, cols = choice_vs_clip(answers, other, clip, labels, ["a", "b", "c"], boot=NO_BOOT)
    v = values_of(values)
    assert v["lmm_top1"].value == 2 / 3 and v["lmm_top1"].details["n"] == 3  # TRUE / (TRUE + FALSE)
    assert v["clip_restricted_top1"].value == 1 / 3  # the CLIP on the same 3 decided images
    assert v["choice_double_rate"].value == 0.2 and v["choice_todo_rate"].value == 0.2
    assert protocol["choice"]["DOUBLE"] == 1 and cols["included"] == [True, False, True, False, True]
    with pytest.raises(UsageError, match="must differ from the true class"):
        choice_vs_clip(answers, labels, clip, labels, ["a", "b", "c"], boot=NO_BOOT)
