"""OOD detection metrics against scikit-learn and hand-computed cases; OOD scores against their formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax

from zeroshift.core.outputs import LocalOutputs
from zeroshift.data.base import LabelSpace
from zeroshift.errors import SpecError, UsageError
from zeroshift.metrics.base import stratified_bootstrap
from zeroshift.metrics.ood import (
    RankedScores,
    ScoreInputs,
    auroc,
    average_precision,
    detection_metrics,
    energy_score,
    fpr_at_tpr,
    glmcm_score,
    local_mcm,
    maxlogit_score,
    mcm_score,
    msp_score,
    ood_artefacts,
    score_histogram,
)


def sklearn_reference(id_s: np.ndarray, ood_s: np.ndarray, tpr: float = 0.95) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    y = np.r_[np.ones(id_s.size), np.zeros(ood_s.size)]
    s = np.r_[id_s, ood_s]
    fpr, tprs, _ = roc_curve(y, s)
    return {
        "auroc": roc_auc_score(y, s),
        "aupr_in": average_precision_score(y, s),
        "aupr_out": average_precision_score(1 - y, -s),
        "fpr95": fpr[np.argmax(tprs >= tpr)],
    }


@pytest.mark.parametrize("seed", range(6))
def test_metrics_match_scikit_learn_with_and_without_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_id, n_ood = rng.integers(5, 400, size=2)
    id_s = rng.normal(1.0, 1.0, n_id)
    ood_s = rng.normal(0.0, 1.3, n_ood)
    if seed % 2:  # coarse rounding: many ties within and across the two sets
        id_s, ood_s = np.round(id_s, 1), np.round(ood_s, 1)
    ours, ref = detection_metrics(id_s, ood_s, rule="min_tpr"), sklearn_reference(id_s, ood_s)
    for key in ("auroc", "aupr_in", "aupr_out", "fpr95"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key


def test_fpr_at_95_hand_computed_with_ties() -> None:
    # 20 ID scores: >=5: 3, >=4: 7, >=3: 12, >=2: 17 (85%), >=1: 20 (100%) -> the threshold is 1
    id_s = np.array([5] * 3 + [4] * 4 + [3] * 5 + [2] * 5 + [1] * 3, dtype=float)
    ood_s = np.array([1, 1, 0, 0, 2, 0, 0, 0, 0, 0], dtype=float)
    for rule in ("min_tpr", "reference"):  # 100% is the closest recall to 95% too
        assert fpr_at_tpr(id_s, ood_s, rule=rule) == (0.3, 1.0, 1.0)  # OOD tied with the threshold are accepted
    # exactly 95%: 19 of 20 ID at >= 2; the OOD scores tied at 2 count as false positives
    id_s = np.array([3] * 10 + [2] * 9 + [0], dtype=float)
    ood_s = np.array([2, 2, 1, 0, 0, 0, 0, 0], dtype=float)
    assert fpr_at_tpr(id_s, ood_s, rule="min_tpr") == (0.25, 2.0, 0.95)
    # the reference rule also stops at recall 0.95, but of the runs with that recall takes the lowest threshold:
    # the OOD score 1 (no ID there) is accepted as well
    assert fpr_at_tpr(id_s, ood_s) == (0.375, 1.0, 0.95)
    assert detection_metrics(id_s, ood_s, rule="min_tpr")["fpr95"] == sklearn_reference(id_s, ood_s)["fpr95"] == 0.25


def test_hand_computed_auroc_and_average_precision() -> None:
    # ID {3, 1}, OOD {2}: pairs (3>2) win, (1<2) lose -> 0.5; AP-in = 1/2 * 1 + 1/2 * 2/3
    assert auroc(np.array([3.0, 1.0]), np.array([2.0])) == 0.5
    assert average_precision(np.array([3.0, 1.0]), np.array([2.0])) == pytest.approx(0.5 + 1 / 3)
    same = detection_metrics(np.ones(4), np.ones(3))
    assert same["auroc"] == 0.5 and same["fpr95"] == 1.0
    assert same["aupr_in"] == pytest.approx(4 / 7) and same["aupr_out"] == pytest.approx(3 / 7)


def test_empty_sets_give_nan_not_a_crash() -> None:
    for id_s, ood_s in ((np.ones(3), np.zeros(0)), (np.zeros(0), np.ones(3))):
        values = detection_metrics(id_s, ood_s)
        assert all(np.isnan(v) for v in values.values())
    assert score_histogram(np.zeros(0), np.zeros(0)) == {"edges": [], "id": [], "ood": []}


def test_histogram_counts_every_score_once() -> None:
    rng = np.random.default_rng(0)
    id_s, ood_s = rng.normal(size=50), rng.normal(size=30) - 1
    h = score_histogram(id_s, ood_s, bins=12)
    assert len(h["edges"]) == 13 and sum(h["id"]) == 50 and sum(h["ood"]) == 30
    assert h["edges"][0] == min(id_s.min(), ood_s.min()) and h["edges"][-1] == max(id_s.max(), ood_s.max())


@pytest.mark.parametrize("seed", range(4))
def test_reweighted_ranking_equals_resorting_the_resample(seed: int) -> None:
    """Bootstrap replicates reuse one sort as sample weights; they must equal the metrics of the resampled sets."""
    rng = np.random.default_rng(seed)
    id_s, ood_s = np.round(rng.normal(1, 1, 60), 1), np.round(rng.normal(0, 1, 40), 1)  # many ties
    ranked = RankedScores.of(id_s, ood_s)
    for _ in range(20):
        i, j = rng.integers(0, 60, 60), rng.integers(0, 40, 40)
        got = ranked.metrics(np.bincount(i, minlength=60), np.bincount(j, minlength=40))
        want = detection_metrics(id_s[i], ood_s[j])
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_stratified_bootstrap_keeps_group_sizes_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    id_s, ood_s = rng.normal(1, 1, 80), rng.normal(0, 1, 50)
    sizes = set()

    def stat(i: np.ndarray, j: np.ndarray) -> dict[str, float]:
        sizes.add((i.size, j.size))
        return detection_metrics(id_s[i], ood_s[j])

    ci = stratified_bootstrap(stat, 80, 50, n_boot=200, seed=1)
    assert sizes == {(80, 50)}
    point = detection_metrics(id_s, ood_s)
    for key in point:
        assert ci[key][0] <= point[key] <= ci[key][1]
    assert all(np.isnan(stratified_bootstrap(stat, 0, 50, n_boot=10)["auroc"]))  # an empty group: no interval


def test_scores_follow_their_formulas() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(scale=5.0, size=(30, 8))
    cos = rng.uniform(-0.2, 0.4, size=(30, 8))
    x = ScoreInputs(torch.tensor(z), torch.tensor(cos), None, {"energy_temperature": 2.0, "mcm_tau": 0.5})
    np.testing.assert_allclose(msp_score(x), softmax(z, 1).max(1), rtol=1e-12)
    np.testing.assert_allclose(maxlogit_score(x), z.max(1), rtol=1e-12)
    np.testing.assert_allclose(energy_score(x), 2.0 * logsumexp(z / 2.0, axis=1), rtol=1e-12)
    np.testing.assert_allclose(mcm_score(x), softmax(cos / 0.5, 1).max(1), rtol=1e-12)
    # MCM reads raw cosines: the logits (scaled cosines) do not change it
    y = ScoreInputs(torch.tensor(z * 100), torch.tensor(cos), None, {"mcm_tau": 0.5})
    np.testing.assert_allclose(mcm_score(y), mcm_score(x))


def test_local_and_gl_mcm_against_explicit_loops() -> None:
    rng = np.random.default_rng(1)
    n, p, d, c = 5, 6, 4, 3
    patches = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(n, p, d))), dim=-1)
    head = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(c, d))), dim=-1)
    names = ["a", "b", "c"]
    space = LabelSpace.from_columns("full", names, "u", names, [0, 1, 2])
    local = LocalOutputs([f"s{i}" for i in range(n)], patches.half(), head, space)
    cos = rng.uniform(-0.1, 0.3, size=(n, c))
    x = ScoreInputs(torch.zeros(n, c), torch.tensor(cos), local, {"glmcm_lambda": 0.7})
    expected = []
    for i in range(n):
        local_best = max(softmax(patches[i, k].half().double().numpy() @ head.numpy().T).max() for k in range(p))
        expected.append(softmax(cos[i]).max() + 0.7 * local_best)
    np.testing.assert_allclose(glmcm_score(x, chunk=2), expected, rtol=1e-3)
    assert local_mcm(torch.zeros(2, 3, 4)).tolist() == [0.25, 0.25]


def test_nonfinite_logits_give_undefined_scores() -> None:
    z = torch.tensor([[1.0, 2.0], [float("nan"), 0.0], [float("inf"), 0.0], [float("-inf"), 0.0]])
    x = ScoreInputs(z)
    for score in (msp_score, maxlogit_score, energy_score):
        s = score(x)
        assert np.isnan(s[1]) and np.isnan(s[2]) and np.isfinite(s[0]) and np.isfinite(s[3])


def test_bad_parameters_are_one_clear_error() -> None:
    with pytest.raises(SpecError, match="did you mean 'msp'"):
        ood_artefacts(scores=("mps",))
    with pytest.raises(UsageError):
        fpr_at_tpr(np.ones(3), np.ones(3), tpr=1.5)
    assert ood_artefacts(scores="glmcm") == {"local"} and ood_artefacts(scores=["msp"]) == set()


def test_metric_values_leave_out_undefined_scores_and_survive_an_empty_set() -> None:
    from zeroshift.metrics.ood import _metric_values

    boot = {"n_boot": 20, "alpha": 0.05, "seed": 0}
    id_s = np.array([0.9, np.nan, 0.8, 0.7])
    ood_s = np.array([0.1, 0.85, np.nan])
    values = {v.name: v for v in _metric_values("msp", id_s, ood_s, 0.95, 5, boot)}
    ref = detection_metrics(id_s[~np.isnan(id_s)], ood_s[~np.isnan(ood_s)])
    assert values["msp_auroc"].value == ref["auroc"] and values["msp_fpr95"].value == ref["fpr95"]
    assert values["msp_auroc"].details["n_id_undefined"] == 1 and values["msp_auroc"].details["n_ood"] == 2
    empty = {v.name: v for v in _metric_values("msp", id_s, np.zeros(0), 0.95, 5, boot)}
    assert all(np.isnan(v.value) for v in empty.values()) and "empty" in empty["msp_fpr95"].details["reason"]
    assert empty["msp_fpr95"].as_dict()["details"]["threshold"] is None  # strict JSON, no NaN
