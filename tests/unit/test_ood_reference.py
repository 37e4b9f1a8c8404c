"""OOD detection metrics against the code the literature's numbers come from.

* FPR@95 (default rule ``reference``) against a test-only port of ``fpr_and_fdr_at_recall`` (Hendrycks et al.,
  used unchanged by MCM), called as MCM's ``get_measures(-in_score, -out_score)`` does: in-distribution positive;
* FPR@95 with ``rule='min_tpr'`` against scikit-learn's ``roc_curve`` (first point with TPR >= 0.95);
* AUROC, AUPR-in, AUPR-out against scikit-learn's ``roc_auc_score`` / ``average_precision_score``;

on seeded random cases, most of them with many ties within and across the two sets, at several recall levels,
and on bootstrap replicates (``RankedScores`` reweights one sort; the oracles see the resampled arrays).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from zeroshift.errors import UsageError
from zeroshift.metrics.ood import CONVENTIONS, FPR_RULES, RankedScores, detection_metrics, fpr_at_tpr

# --- test-only port -------------------------------------------------------------------------------------------
# PORT (test oracle only, not used by zeroshift): fpr_and_fdr_at_recall and stable_cumsum from
# https://github.com/hendrycks/outlier-exposure/blob/master/utils/display_results.py
# (identical in https://github.com/deeplearning-wisc/MCM/blob/main/utils/detection_util.py), statement by statement;
# only the pos_label checks are reduced to the binary {0, 1} case used here.


def _port_stable_cumsum(arr, rtol=1e-05, atol=1e-08):
    out = np.cumsum(arr, dtype=np.float64)
    expected = np.sum(arr, dtype=np.float64)
    if not np.allclose(out[-1], expected, rtol=rtol, atol=atol):
        raise RuntimeError("cumsum was found to be unstable: its last element does not correspond to sum")
    return out


def _port_fpr_and_fdr_at_recall(y_true, y_score, recall_level=0.95, pos_label=None):
    classes = np.unique(y_true)
    assert pos_label is not None or set(classes.tolist()) <= {0, 1}
    if pos_label is None:
        pos_label = 1.0
    y_true = y_true == pos_label
    desc_score_indices = np.argsort(y_score, kind="mergesort")[::-1]
    y_score = y_score[desc_score_indices]
    y_true = y_true[desc_score_indices]
    distinct_value_indices = np.where(np.diff(y_score))[0]
    threshold_idxs = np.r_[distinct_value_indices, y_true.size - 1]
    tps = _port_stable_cumsum(y_true)[threshold_idxs]
    fps = 1 + threshold_idxs - tps
    thresholds = y_score[threshold_idxs]
    recall = tps / tps[-1]
    last_ind = tps.searchsorted(tps[-1])
    sl = slice(last_ind, None, -1)
    recall, fps, tps, thresholds = np.r_[recall[sl], 1], np.r_[fps[sl], 0], np.r_[tps[sl], 0], thresholds[sl]
    cutoff = np.argmin(np.abs(recall - recall_level))
    return fps[cutoff] / (np.sum(np.logical_not(y_true)))


def _port_get_measures_fpr(pos, neg, recall_level=0.95):
    """The FPR of ``get_measures(_pos, _neg)``: ``pos`` labelled 1 (MCM passes the ID scores, higher = ID)."""
    examples = np.squeeze(np.vstack((np.array(pos).reshape((-1, 1)), np.array(neg).reshape((-1, 1)))))
    labels = np.zeros(len(examples), dtype=np.int32)
    labels[: len(pos)] += 1
    return _port_fpr_and_fdr_at_recall(labels, examples, recall_level)


# --- end of port ----------------------------------------------------------------------------------------------


def _case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random ID/OOD scores: sizes 1..300, overlapping distributions, usually rounded to a few levels (ties)."""
    n_id, n_ood = rng.integers(1, 300, size=2)
    id_s = rng.normal(rng.uniform(0, 2), 1.0, n_id)
    ood_s = rng.normal(0.0, rng.uniform(0.5, 2), n_ood)
    levels = rng.choice([0, 0, 1, 2, 3])  # decimals; 0 -> heavy ties (a handful of distinct values)
    if rng.random() < 0.8:
        id_s, ood_s = np.round(id_s, levels), np.round(ood_s, levels)
    return id_s, ood_s


def _sklearn(id_s: np.ndarray, ood_s: np.ndarray, tpr: float) -> dict[str, float]:
    y = np.r_[np.ones(id_s.size), np.zeros(ood_s.size)]
    s = np.r_[id_s, ood_s]
    fpr, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    return {
        "auroc": roc_auc_score(y, s),
        "aupr_in": average_precision_score(y, s),
        "aupr_out": average_precision_score(1 - y, -s),
        "fpr_min_tpr": fpr[np.argmax(tprs >= tpr - 1e-12)],
    }


@pytest.mark.parametrize("tpr", [0.95, 0.9, 0.8, 0.5])
def test_every_metric_equals_the_reference_code_on_tied_and_untied_scores(tpr: float) -> None:
    rng = np.random.default_rng(int(tpr * 100))
    differ = 0
    for _ in range(150):
        id_s, ood_s = _case(rng)
        ours = detection_metrics(id_s, ood_s, tpr)
        ref = _sklearn(id_s, ood_s, tpr)
        assert ours["fpr95"] == _port_get_measures_fpr(id_s, ood_s, tpr)  # exact: same counts, same float ops
        assert detection_metrics(id_s, ood_s, tpr, rule="min_tpr")["fpr95"] == pytest.approx(ref["fpr_min_tpr"])
        for key in ("auroc", "aupr_in", "aupr_out"):
            assert ours[key] == pytest.approx(ref[key], abs=1e-12), key
        differ += ours["fpr95"] != ref["fpr_min_tpr"]
    assert differ > 0  # the two rules are different numbers on these cases, so the comparison above has teeth


def test_bootstrap_replicates_equal_the_reference_code_on_the_resampled_sets() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        id_s, ood_s = _case(rng)
        ranked = RankedScores.of(id_s, ood_s)
        for _ in range(10):
            i, j = rng.integers(0, id_s.size, id_s.size), rng.integers(0, ood_s.size, ood_s.size)
            wi, wj = np.bincount(i, minlength=id_s.size), np.bincount(j, minlength=ood_s.size)
            assert ranked.fpr_at(0.95, wi, wj)[0] == _port_get_measures_fpr(id_s[i], ood_s[j])
            got = ranked.metrics(wi, wj)
            ref = _sklearn(id_s[i], ood_s[j], 0.95)
            assert ranked.fpr_at(0.95, wi, wj, "min_tpr")[0] == pytest.approx(ref["fpr_min_tpr"])
            for key in ("auroc", "aupr_in", "aupr_out"):
                assert got[key] == pytest.approx(ref[key], abs=1e-12), key


def test_hand_computed_case_where_the_rules_differ_by_a_third() -> None:
    # 20 ID: 18 at 1.0 (recall 0.9), 2 at 0.0 (recall 1.0); OOD: 3 of 9 at 1.0, 6 at 0.0.
    # 0.9 and 1.0 are equally far from 0.95 on paper; in floats |0.9 - 0.95| < |1.0 - 0.95|, so the reference
    # stops at recall 0.9 (FPR 3/9) where min_tpr needs recall 1.0 (FPR 9/9).
    id_s = np.r_[np.ones(18), np.zeros(2)]
    ood_s = np.r_[np.ones(3), np.zeros(6)]
    assert _port_get_measures_fpr(id_s, ood_s) == pytest.approx(1 / 3)
    assert fpr_at_tpr(id_s, ood_s) == (pytest.approx(1 / 3), 1.0, 0.9)
    assert fpr_at_tpr(id_s, ood_s, rule="min_tpr") == (1.0, 0.0, 1.0)


def test_the_rule_is_recorded_and_checked() -> None:
    assert CONVENTIONS["fpr95"] == FPR_RULES["reference"].definition and CONVENTIONS["fpr95_rule"] == "reference"
    assert set(FPR_RULES) == {"reference", "min_tpr"}
    with pytest.raises(UsageError, match="ood.fpr_rule must be one of 'reference', 'min_tpr', got 'closest'"):
        detection_metrics(np.ones(3), np.zeros(3), rule="closest")


# PORT (test oracle only): the FPR of auc_and_fpr_recall from OpenOOD v1.5,
# https://github.com/Jingkang50/OpenOOD/blob/main/openood/evaluators/metrics.py (OOD is the positive class, the
# confidence negated: the fraction of ID samples flagged as OOD at the first ROC point detecting >= 95% of OOD).
# ``drop_intermediate`` is scikit-learn's default there; the port exposes it to show what it changes.
def _port_openood_fpr(conf: np.ndarray, label: np.ndarray, tpr_th: float = 0.95, drop: bool = True) -> float:
    ood_indicator = np.zeros_like(label)
    ood_indicator[label == -1] = 1
    fpr_list, tpr_list, thresholds = roc_curve(ood_indicator, -conf, drop_intermediate=drop)
    return fpr_list[np.argmax(tpr_list >= tpr_th)]


def test_openood_fpr_is_the_min_tpr_rule_with_the_roles_swapped() -> None:
    """The conventions' recipe for OpenOOD's number: detection_metrics(-ood, -id, rule='min_tpr').

    Exact against the ROC curve with every point; OpenOOD's curve drops collinear points (scikit-learn's
    ``drop_intermediate=True``), which on straight stretches of a tied curve can skip the first point at 95%
    and report a larger FPR (seen: 8 of 1000 such random cases, by up to 0.04)."""
    rng = np.random.default_rng(11)
    differ = skipped = 0
    for _ in range(300):
        id_s, ood_s = _case(rng)
        conf, label = np.r_[id_s, ood_s], np.r_[np.zeros(id_s.size, int), -np.ones(ood_s.size, int)]
        ours = detection_metrics(-ood_s, -id_s, rule="min_tpr")["fpr95"]
        assert ours == pytest.approx(_port_openood_fpr(conf, label, drop=False), abs=1e-12)
        openood = _port_openood_fpr(conf, label)
        assert ours <= openood + 1e-12  # dropping points can only move the operating point later
        skipped += ours != pytest.approx(openood, abs=1e-12)
        differ += detection_metrics(id_s, ood_s)["fpr95"] != pytest.approx(openood, abs=1e-12)
    assert differ > 150  # ID-positive and OOD-positive FPR@95 are different numbers
    assert skipped < 15
