"""Out-of-distribution detection: scores (MSP, max-logit, energy, MCM, GL-MCM) and their detection metrics.

Conventions (Hendrycks & Gimpel 2017, MCM; recorded in every record by :func:`ood_group`):

* every score is oriented so that **higher = more in-distribution**;
* the **in-distribution set is the positive class**: AUROC, AUPR-in (average precision with ID positive),
  AUPR-out (average precision with OOD positive and the score negated), and FPR@95TPR, the fraction of OOD
  samples accepted at the threshold whose ID recall is closest to 95% (among equally close thresholds the lowest;
  samples tied with the threshold are all accepted), exactly ``fpr_and_fdr_at_recall`` of Hendrycks et al. and
  MCM (:data:`FPR_RULES`; ``min_tpr``, the highest threshold accepting at least 95%, on request). OpenOOD v1.5
  makes OOD the positive class and so reports another FPR@95;
* ties are handled as scikit-learn does (AUROC counts a tied pair as one half; AP steps once per distinct score);
* samples whose score is NaN (logits without a softmax) are left out and counted.

Scores (``z``: logits over the label space, ``s``: raw cosines, no logit scale):

* ``msp`` = max softmax(z); ``maxlogit`` = max z; ``energy`` = T * logsumexp(z / T), T = 1 (the negative energy);
* ``mcm`` = max softmax(s / tau), tau = 1 (Ming et al. 2022);
* ``glmcm`` = mcm + lambda * max over patches and classes of softmax(s_patch / tau), lambda = 1 (Miyai et al.
  2023); patch cosines come from the model's patch embeddings in the joint space (open_clip ViTs).

Example:
    >>> import numpy as np
    >>> m = detection_metrics(np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.75]))
    >>> round(m["auroc"], 4), m["fpr95"]
    (0.8333, 0.5)

"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.core.numeric import finite_rows
from zeroshift.errors import DatasetError, UsageError
from zeroshift.metrics.base import MetricValue, stratified_bootstrap
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, metric_group
from zeroshift.params import Param
from zeroshift.registry import Registry

# --- detection metrics ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedScores:
    """In-distribution and OOD scores sorted once, highest first, with their runs of ties.

    Every detection metric is a function of the cumulative ID and OOD counts at the end of each run of ties, so
    a bootstrap replicate (a multiset of the same samples) only reweights the sorted positions: no new sort.

    Example:
        >>> r = RankedScores.of(np.array([3.0, 1.0]), np.array([2.0, 1.0]))
        >>> r.thresholds.tolist()
        [3.0, 2.0, 1.0]
        >>> r.metrics()["auroc"]
        0.625

    """

    id_position: np.ndarray
    ood_position: np.ndarray
    run_end: np.ndarray
    thresholds: np.ndarray

    @classmethod
    def of(cls, id_scores: np.ndarray, ood_scores: np.ndarray) -> RankedScores:
        """Sort the pooled scores (stable) and find the runs of ties."""
        pooled = np.concatenate([id_scores, ood_scores]).astype(np.float64)
        order = np.argsort(-pooled, kind="mergesort")
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        ranked = pooled[order]
        run_end = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1] if ranked.size else np.zeros(0, int)
        n_id = len(id_scores)
        return cls(position[:n_id], position[n_id:], run_end, ranked[run_end])

    def counts(
        self, id_weights: np.ndarray | None = None, ood_weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (weighted) ID and OOD counts at the end of each run of ties."""
        n = self.id_position.size + self.ood_position.size
        pos, neg = np.zeros(n), np.zeros(n)
        pos[self.id_position] = 1.0 if id_weights is None else id_weights
        neg[self.ood_position] = 1.0 if ood_weights is None else ood_weights
        return np.cumsum(pos)[self.run_end], np.cumsum(neg)[self.run_end]

    def fpr_at(
        self,
        tpr: float = 0.95,
        id_weights: np.ndarray | None = None,
        ood_weights: np.ndarray | None = None,
        rule: str = "reference",
    ) -> tuple[float, float, float]:
        """(FPR, threshold, TPR reached) at the operating point ``rule`` picks for ``tpr`` (see :data:`FPR_RULES`).

        ``reference`` is ``fpr_and_fdr_at_recall`` of Hendrycks et al. and MCM: the run of ties whose ID recall is
        closest to ``tpr`` (above or below it), and among equally close ones the lowest threshold, which accepts
        the most OOD. ``min_tpr`` is the highest threshold whose recall is at least ``tpr``.

        Example:
            >>> r = RankedScores.of(np.array([3.0, 2.0, 2.0, 1.0]), np.array([2.0, 1.0]))  # ID recall .25 .75 1
            >>> r.fpr_at(0.8, rule="reference"), r.fpr_at(0.8, rule="min_tpr")
            ((0.5, 2.0, 0.75), (1.0, 1.0, 1.0))
            >>> r = RankedScores.of(np.array([3.0, 2.0, 2.0, 1.0]), np.array([2.0, 1.5]))  # recall .75 at 2 and 1.5
            >>> r.fpr_at(0.8, rule="reference")  # equally close: the lower threshold, accepting more OOD
            (1.0, 1.5, 0.75)

        """
        if not 0.0 < tpr <= 1.0:
            raise UsageError(f"ood.tpr must be in (0, 1], got {tpr!r}")
        if rule not in FPR_RULES:
            raise UsageError(f"ood.fpr_rule must be one of {', '.join(map(repr, FPR_RULES))}, got {rule!r}")
        tps, fps = self.counts(id_weights, ood_weights)
        if not tps.size or tps[-1] == 0 or fps[-1] == 0:
            nan = float("nan")
            return nan, nan, nan
        k = FPR_RULES[rule].pick(tps, tpr)
        return float(fps[k] / fps[-1]), float(self.thresholds[k]), float(tps[k] / tps[-1])

    def metrics(
        self,
        id_weights: np.ndarray | None = None,
        ood_weights: np.ndarray | None = None,
        tpr: float = 0.95,
        rule: str = "reference",
    ) -> dict[str, float]:
        """AUROC, AUPR-in, AUPR-out and FPR at ``tpr`` (operating point by ``rule``), ID positive (NaN if empty)."""
        tps, fps = self.counts(id_weights, ood_weights)
        if not tps.size or tps[-1] == 0 or fps[-1] == 0:
            return dict.fromkeys(("auroc", "aupr_in", "aupr_out", "fpr95"), float("nan"))
        p, n = tps[-1], fps[-1]
        d_tps, d_fps = np.diff(tps, prepend=0.0), np.diff(fps, prepend=0.0)
        roc_tpr = np.r_[0.0, tps / p]
        auroc = float(np.sum(d_fps / n * (roc_tpr[1:] + roc_tpr[:-1]) / 2))
        # AP steps once per run of ties: recall gain of the run times the precision with the run included
        aupr_in = float(np.sum(d_tps / p * _ratio(tps, tps + fps)))
        # OOD positive, score negated: the runs are taken lowest first, each with everything scored below it
        ood_cum, id_cum = n - (fps - d_fps), p - (tps - d_tps)
        aupr_out = float(np.sum(d_fps / n * _ratio(ood_cum, ood_cum + id_cum)))
        return {
            "auroc": auroc,
            "aupr_in": aupr_in,
            "aupr_out": aupr_out,
            "fpr95": self.fpr_at(tpr, id_weights, ood_weights, rule)[0],
        }


def _closest_recall(tps: np.ndarray, tpr: float) -> int:
    """The reference operating point: the run whose recall is closest to ``tpr``, ties to the lowest threshold.

    The same float expression as ``fpr_and_fdr_at_recall`` (``|tps / tps[-1] - level|``, so its round-off picks
    the same run when two recalls are equally far on paper), over the runs up to the first that reaches full
    recall (the reference drops the rest); ``argmin`` walks them from the lowest threshold upwards, as the
    reference's reversed arrays do, so of equally close runs the one accepting the most OOD wins. Its extra
    point (recall 1, FPR 0) never wins: the run at full recall is equally close and comes first.

    Example:
        >>> _closest_recall(np.array([1.0, 3.0, 3.0, 4.0]), 0.8)  # recalls .25 .75 .75 1: the later .75
        2

    """
    last = int(np.searchsorted(tps, tps[-1]))
    gap = np.abs(tps[: last + 1] / tps[-1] - tpr)
    return last - int(np.argmin(gap[::-1]))


def _min_tpr(tps: np.ndarray, tpr: float) -> int:
    """The highest threshold whose recall is at least ``tpr`` (the first run reaching it).

    Example:
        >>> _min_tpr(np.array([1.0, 3.0, 3.0, 4.0]), 0.8)
        3

    """
    need = math.ceil(tpr * tps[-1] - 1e-9)  # counts are integers: no float round-off at exactly 95%
    return int(np.argmax(tps >= need))


@dataclass(frozen=True)
class FprRule:
    """How FPR@TPR picks its operating point among the runs of ties (``pick(tps, tpr) -> run index``).

    Example:
        >>> FPR_RULES["reference"].source
        'fpr_and_fdr_at_recall (hendrycks/outlier-exposure utils/display_results.py; MCM utils/detection_util.py)'

    """

    name: str
    definition: str
    source: str
    pick: Callable[[np.ndarray, float], int]


#: the operating-point rules of FPR@TPR; ``reference`` is the default
FPR_RULES: dict[str, FprRule] = {
    rule.name: rule
    for rule in (
        FprRule(
            "reference",
            "fraction of OOD accepted at the threshold whose ID recall is closest to tpr (above or below); among "
            "equally close thresholds the lowest (accepting the most OOD); samples tied with it are accepted",
            "fpr_and_fdr_at_recall (hendrycks/outlier-exposure utils/display_results.py; MCM utils/detection_util.py)",
            _closest_recall,
        ),
        FprRule(
            "min_tpr",
            "fraction of OOD accepted at the highest threshold accepting >= tpr of ID (ties accepted)",
            "the first ROC point with TPR >= tpr (scikit-learn roc_curve)",
            _min_tpr,
        ),
    )
}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (runs of ties left empty by a bootstrap replicate add nothing)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the ROC curve of ``pos`` (positive class) against ``neg``; NaN if either is empty.

    Example:
        >>> auroc(np.array([2.0, 1.0]), np.array([1.0, 0.0]))
        0.875

    """
    return RankedScores.of(np.asarray(pos), np.asarray(neg)).metrics()["auroc"]


def average_precision(pos: np.ndarray, neg: np.ndarray) -> float:
    """Average precision ``sum_k (R_k - R_{k-1}) P_k`` over distinct thresholds (scikit-learn's definition).

    Example:
        >>> average_precision(np.array([3.0, 1.0]), np.array([2.0]))
        0.8333333333333333

    """
    return RankedScores.of(np.asarray(pos), np.asarray(neg)).metrics()["aupr_in"]


def fpr_at_tpr(
    id_scores: np.ndarray, ood_scores: np.ndarray, tpr: float = 0.95, rule: str = "reference"
) -> tuple[float, float, float]:
    """FPR at the operating point ``rule`` picks for ``tpr`` (:data:`FPR_RULES`): (fpr, threshold, tpr reached).

    A sample is accepted when its score is >= the threshold, so ties at the threshold are all accepted.

    Example:
        >>> fpr_at_tpr(np.array([4.0, 3.0, 2.0, 1.0]), np.array([2.0, 0.0]), tpr=0.75)
        (0.5, 2.0, 0.75)
        >>> fpr_at_tpr(np.array([4.0, 3.0, 2.0, 1.0]), np.array([2.0, 0.0]), tpr=0.7, rule="min_tpr")
        (0.5, 2.0, 0.75)

    """
    return RankedScores.of(np.asarray(id_scores), np.asarray(ood_scores)).fpr_at(tpr, rule=rule)


def detection_metrics(
    id_scores: np.ndarray, ood_scores: np.ndarray, tpr: float = 0.95, rule: str = "reference"
) -> dict[str, float]:
    """AUROC, AUPR-in, AUPR-out and FPR at ``tpr`` with the in-distribution set as the positive class.

    ``rule`` picks FPR@TPR's operating point (:data:`FPR_RULES`): ``reference`` (default) equals
    ``fpr_and_fdr_at_recall`` of Hendrycks et al. and MCM, ``min_tpr`` the first ROC point with TPR >= ``tpr``.

    Example:
        >>> sorted(detection_metrics(np.array([1.0]), np.array([0.0])))
        ['aupr_in', 'aupr_out', 'auroc', 'fpr95']
        >>> ids, oods = np.array([3.0, 2.0, 2.0, 1.0]), np.array([2.0, 1.0])
        >>> detection_metrics(ids, oods, 0.8)["fpr95"], detection_metrics(ids, oods, 0.8, "min_tpr")["fpr95"]
        (0.5, 1.0)

    """
    return RankedScores.of(np.asarray(id_scores), np.asarray(ood_scores)).metrics(tpr=tpr, rule=rule)


def score_histogram(id_scores: np.ndarray, ood_scores: np.ndarray, bins: int = 30) -> dict[str, list[float]]:
    """Counts of ID and OOD scores over shared equal-width bins (for plotting the two distributions).

    Example:
        >>> h = score_histogram(np.array([0.0, 1.0]), np.array([0.5]), bins=2)
        >>> h["id"], h["ood"]
        ([1, 1], [0, 1])

    """
    both = np.concatenate([id_scores, ood_scores]).astype(np.float64)
    if both.size == 0:
        return {"edges": [], "id": [], "ood": []}
    lo, hi = float(both.min()), float(both.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, int(bins) + 1)
    return {
        "edges": [float(e) for e in edges],
        "id": [int(c) for c in np.histogram(id_scores, edges)[0]],
        "ood": [int(c) for c in np.histogram(ood_scores, edges)[0]],
    }


# --- scores --------------------------------------------------------------------------------------------------


@dataclass
class ScoreInputs:
    """What a score reads for one set: class logits, raw class cosines and patch embeddings (where available)."""

    logits: torch.Tensor
    cosines: torch.Tensor | None = None
    local: Any = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OODScore:
    """A confidence score (higher = more in-distribution).

    Attributes:
        name: registry name, the prefix of its metrics.
        needs: ``logits``, ``cosines`` or ``local`` (patch embeddings as well as cosines).
        definition: the formula, recorded in every record.
        fn: ``ScoreInputs -> (N,)`` float64 array, NaN where undefined.

    """

    name: str
    needs: str
    definition: str
    fn: Callable[[ScoreInputs], np.ndarray]


ood_scores: Registry[OODScore] = Registry("OOD score")


def _masked(values: torch.Tensor, z: torch.Tensor) -> np.ndarray:
    out = values.double().cpu().numpy().copy()
    out[~finite_rows(z)] = np.nan
    return out


def msp_score(x: ScoreInputs) -> np.ndarray:
    """Maximum softmax probability of the logits.

    Example:
        >>> msp_score(ScoreInputs(torch.tensor([[0.0, 0.0]]))).tolist()
        [0.5]

    """
    return _masked(torch.softmax(x.logits.double(), dim=1).max(dim=1).values, x.logits)


def maxlogit_score(x: ScoreInputs) -> np.ndarray:
    """Maximum logit.

    Example:
        >>> maxlogit_score(ScoreInputs(torch.tensor([[1.0, 3.0]]))).tolist()
        [3.0]

    """
    return _masked(x.logits.double().max(dim=1).values, x.logits)


def energy_score(x: ScoreInputs) -> np.ndarray:
    """Negative energy ``T * logsumexp(z / T)`` (Liu et al. 2020), ``T`` = ``energy_temperature`` (1).

    Example:
        >>> round(energy_score(ScoreInputs(torch.tensor([[0.0, 0.0]]))).tolist()[0], 4)
        0.6931

    """
    t = float(x.params.get("energy_temperature", 1.0))
    return _masked(t * torch.logsumexp(x.logits.double() / t, dim=1), x.logits)


def mcm_score(x: ScoreInputs) -> np.ndarray:
    """Maximum concept matching: max softmax of raw cosines over ``tau`` (1), no logit scale (Ming et al. 2022).

    Example:
        >>> s = mcm_score(ScoreInputs(torch.zeros(1, 2), torch.tensor([[0.3, 0.3]])))
        >>> s.tolist()
        [0.5]

    """
    tau = float(x.params.get("mcm_tau", 1.0))
    assert x.cosines is not None
    return _masked(torch.softmax(x.cosines.double() / tau, dim=1).max(dim=1).values, x.cosines)


def local_mcm(local_cosines: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """The local MCM of GL-MCM: max over patches and classes of the softmax over classes of ``cos / tau``.

    Example:
        >>> local_mcm(torch.tensor([[[0.0, 0.0], [2.0, 0.0]]])).round(decimals=4).tolist()
        [0.8808]

    """
    probs = torch.softmax(local_cosines.double() / tau, dim=-1)
    return probs.flatten(1).max(dim=1).values


def glmcm_score(x: ScoreInputs, chunk: int = 256) -> np.ndarray:
    """GL-MCM (Miyai et al. 2023): ``mcm + lambda * local_mcm`` with ``lambda`` = ``glmcm_lambda`` (1).

    Example:
        >>> from zeroshift.core.outputs import LocalOutputs
        >>> from zeroshift.data.base import LabelSpace
        >>> space = LabelSpace.from_columns("full", ["a", "b"], "u", ["a", "b"], [0, 1])
        >>> loc = LocalOutputs(["x"], torch.tensor([[[1.0, 0.0]]]), torch.eye(2), space)
        >>> x = ScoreInputs(torch.zeros(1, 2), torch.tensor([[0.0, 0.0]]), loc)
        >>> round(float(glmcm_score(x)[0]), 4)  # 0.5 + softmax([1, 0]).max()
        1.2311

    """
    tau = float(x.params.get("mcm_tau", 1.0))
    lam = float(x.params.get("glmcm_lambda", 1.0))
    global_part = mcm_score(x)
    local = np.empty(len(x.local), dtype=np.float64)
    for start in range(0, len(x.local), chunk):
        stop = min(start + chunk, len(x.local))
        local[start:stop] = local_mcm(x.local.class_cosines(start, stop), tau).cpu().numpy()
    return global_part + lam * local


for _score in (
    OODScore("msp", "logits", "max softmax(z)", msp_score),
    OODScore("maxlogit", "logits", "max z", maxlogit_score),
    OODScore("energy", "logits", "T * logsumexp(z / T), T = energy_temperature", energy_score),
    OODScore("mcm", "cosines", "max softmax(cos / tau), raw cosines, tau = mcm_tau", mcm_score),
    OODScore(
        "glmcm",
        "local",
        "mcm + lambda * max over patches and classes of softmax(patch cos / tau), lambda = glmcm_lambda",
        glmcm_score,
    ),
):
    ood_scores.register(_score.name, _score)

#: every score, in the order metrics are written
DEFAULT_SCORES = ("msp", "maxlogit", "energy", "mcm", "glmcm")

#: what every OOD record states about its conventions
CONVENTIONS = {
    "positive": "in-distribution",
    "orientation": "higher score = more in-distribution",
    "auroc": "area under ROC (ties count one half)",
    "aupr_in": "average precision, in-distribution positive",
    "aupr_out": "average precision, OOD positive, score negated",
    "fpr95": FPR_RULES["reference"].definition,
    "fpr95_rule": "reference",
    "nonfinite": "samples with an undefined score (NaN/+inf logits) are left out and counted",
}


# --- the metric group ----------------------------------------------------------------------------------------


def _score_names(requested: Any) -> list[str]:
    names = [requested] if isinstance(requested, str) else list(requested)
    for name in names:
        ood_scores.get(name)  # unknown -> one line with suggestions
    return list(dict.fromkeys(names))


def _scores(value: Any) -> tuple[str, ...]:
    return tuple(_score_names(value))


def ood_artefacts(scores: Any = DEFAULT_SCORES, **_: Any) -> set[str]:
    """What the ``ood`` group reads beyond class scores: patch embeddings when GL-MCM is asked for.

    The engine encodes them in the same pass as the global embeddings, so no image is encoded twice.

    Example:
        >>> ood_artefacts(), ood_artefacts(scores=("msp",))
        ({'local'}, set())

    """
    return {"local"} if "glmcm" in _score_names(scores) else set()


def _needs(params: Params) -> tuple[Need, ...]:
    local = frozenset(ood_artefacts(params.scores))
    return Need(None, local), Need("in_distribution", local)


def needs_ood_benchmark(benchmark: Any, shift: Any = None) -> None:
    """The ``ood`` group's check: it scores an unlabelled OOD set against the set its ``id`` names.

    Example:
        >>> from zeroshift.data import make_benchmark
        >>> needs_ood_benchmark(make_benchmark("imagenet_o", None))
        >>> needs_ood_benchmark(make_benchmark("imagenet_r", None))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the ood metric group ...; imagenet_r is not an OOD benchmark (try ...)

    """
    if benchmark.labelled or benchmark.in_distribution is None:
        raise UsageError(
            f"the ood metric group scores an OOD set against its in-distribution set; {benchmark.name} is not an "
            "OOD benchmark (try -b \"imagenet_o(id='imagenet')\" or -b \"ood_folder(path='/x', id='imagenet')\")"
        )


def _id_condition(read: Callable[[], Any], inputs: Any) -> Any:
    """``read()`` of the in-distribution set, saying why it is needed when its data is missing."""
    try:
        return read()
    except DatasetError as err:
        raise DatasetError(
            f"{inputs.benchmark.name} is scored against its in-distribution set {inputs.benchmark.in_distribution} "
            f"(the id parameter); {err}"
        ) from None


def _pair_id(outputs: Any, inputs: Any, id_samples: str) -> tuple[Any, np.ndarray | None, dict[str, Any]]:
    """The in-distribution outputs over the OOD set's label space (and the rows kept)."""
    needs_ood_benchmark(inputs.benchmark)
    id_out = _id_condition(lambda: inputs.related("in_distribution").outputs, inputs)
    space = outputs.label_space
    rows = None
    record = {
        "id_benchmark": inputs.benchmark.in_distribution,
        "id_label_space": id_out.label_space.name,
        "id_condition": "clean",
    }
    if id_out.label_space.fingerprint_data != space.fingerprint_data:
        id_out = id_out.in_space(space)
        record["id_rescored_as"] = space.name
        if id_samples == "space":
            rows = np.flatnonzero(id_out.labels >= 0)
            id_out = id_out.select(rows)
    record["id_samples"] = "classes of the label space" if rows is not None else "all"
    return id_out, rows, record


#: the text heads MCM and GL-MCM may score with: the papers' single template, or the run's prompt set (None)
MCM_PROMPTS = {"single": "simple", "run": None}


def _cosines(view: Any, outputs: Any, prompts: str) -> Any:
    """Raw class cosines of ``outputs``' samples over their label space, with the head of prompt set ``prompts``."""
    from zeroshift.core.outputs import class_logits

    features = view.artefact("features")
    where = {sid: i for i, sid in enumerate(features.sample_ids)}
    rows = features.rows[torch.as_tensor([where[s] for s in outputs.sample_ids], dtype=torch.long)]
    space = outputs.label_space
    head = view.head_rows([space.universe_names[c] for c in space.used_columns], prompts)
    return class_logits(rows, head, 1.0, 0.0, space)[1].float()


def _with_head(view: Any, local: Any, prompts: str | None) -> Any:
    """Patch embeddings scored with the head of prompt set ``prompts`` (unchanged for the run's own set)."""
    if prompts is None:
        return local
    from dataclasses import replace

    space = local.label_space
    return replace(local, head=view.head_rows([space.universe_names[c] for c in space.used_columns], prompts))


_OOD_NAMES = {"msp": "MSP", "maxlogit": "max-logit", "energy": "energy", "mcm": "MCM", "glmcm": "GL-MCM"}
_OOD_FIELDS = {"score": DEFAULT_SCORES}


@metric_group(
    "ood",
    metrics=(
        MetricSpec(
            "{score}_auroc", "{score} AUROC", True, "area under ROC, in-distribution positive", _OOD_FIELDS, _OOD_NAMES
        ),
        MetricSpec(
            "{score}_aupr_in",
            "{score} AUPR-in",
            True,
            "average precision, in-distribution positive",
            _OOD_FIELDS,
            _OOD_NAMES,
        ),
        MetricSpec(
            "{score}_aupr_out", "{score} AUPR-out", True, "average precision, OOD positive", _OOD_FIELDS, _OOD_NAMES
        ),
        MetricSpec(
            "{score}_fpr95",
            "{score} FPR@95TPR",
            False,
            "OOD accepted at 95% of in-distribution accepted",
            _OOD_FIELDS,
            _OOD_NAMES,
        ),
    ),  # fmt: skip
    params={
        "scores": Param(DEFAULT_SCORES, "scores to compute (msp, maxlogit, energy, mcm, glmcm)", check=_scores),
        "tpr": Param(0.95, "the TPR of FPR@TPR"),
        "energy_temperature": Param(1.0, "T of the energy score"),
        "mcm_tau": Param(1.0, "tau of MCM and GL-MCM"),
        "glmcm_lambda": Param(1.0, "weight of GL-MCM's local part"),
        "id_samples": Param(
            "space", "in-distribution samples kept when the OOD label space is a subset", choices=("space", "all")
        ),
        "hist_bins": Param(30, "bins of the ID/OOD score histograms stored in the details"),
        "fpr_rule": Param("reference", "operating point of FPR@TPR (see FPR_RULES)", choices=tuple(FPR_RULES)),
        "mcm_prompts": Param(
            "single",
            "text head of MCM and GL-MCM: the papers' single template, or the run's set",
            choices=tuple(MCM_PROMPTS),
        ),
    },  # fmt: skip
    needs=_needs,
    check=needs_ood_benchmark,
)
def ood_group(inputs: Any, params: Params) -> GroupResult:  # noqa: C901
    """OOD scores of an OOD set against its in-distribution set, four metrics each.

    Parameters: ``scores`` (``msp``, ``maxlogit``, ``energy``, ``mcm``, ``glmcm``; scores a model cannot give --
    cosines for fixed heads, patch tokens for non-ViTs -- are skipped and the reason recorded), ``tpr`` the TPR of
    FPR@TPR (0.95), ``energy_temperature`` ``T`` of the energy score (1), ``mcm_tau`` ``tau`` of MCM and GL-MCM (1),
    ``glmcm_lambda`` the weight of GL-MCM's local part (1), ``id_samples``: when the OOD set's label space is a
    subset (ImageNet-O's 200 classes), ``space`` keeps only in-distribution samples of those classes (the Hendrycks
    protocol), ``all`` keeps every sample; ``hist_bins`` the bins of the stored ID/OOD score histograms;
    ``fpr_rule`` the operating point of FPR@TPR (``reference``: Hendrycks' and MCM's ``fpr_and_fdr_at_recall``;
    ``min_tpr``); ``mcm_prompts``: MCM and GL-MCM score with the papers' single template "a photo of a {}."
    (``single``, default) or with the run's prompt set (``run``). ID and OOD samples are resampled separately for the
    intervals.

    Metrics: ``<score>_auroc``, ``<score>_aupr_in``, ``<score>_aupr_out``, ``<score>_fpr95``; the histograms sit
    in ``<score>_auroc.details["histogram"]``.

    Example:
        >>> ood_group.needs_for(ood_group.resolve({"scores": ("msp",)}))
        (Need(relation=None, artefacts=frozenset()), Need(relation='in_distribution', artefacts=frozenset()))

    """
    outputs = inputs.outputs
    names = list(params.scores)
    settings = {k: v for k, v in params.bootstrap.items()}
    score_params = {
        "energy_temperature": params.energy_temperature,
        "mcm_tau": params.mcm_tau,
        "glmcm_lambda": params.glmcm_lambda,
    }
    model = inputs.model
    local_possible = outputs.cosines is not None and model is not None and model.has_text_head and model.supports_local
    id_local = None
    if "glmcm" in names and local_possible:
        # patch embeddings first: the pass that encodes them fills the global bank too
        id_local = _id_condition(lambda: inputs.related("in_distribution").artefact("local"), inputs)
    id_out, id_rows, record = _pair_id(outputs, inputs, params.id_samples)
    has_cos = outputs.cosines is not None and id_out.cosines is not None
    has_local = has_cos and bool(local_possible)
    mcm_prompts = MCM_PROMPTS[params.mcm_prompts]
    ood_cos, id_cos = outputs.cosines, id_out.cosines
    if has_cos and mcm_prompts and any(ood_scores.get(n).needs in ("cosines", "local") for n in names):
        # MCM and GL-MCM read the cosines of the single-template head, not the run's ensemble
        view = _id_condition(lambda: inputs.related("in_distribution"), inputs)
        ood_cos = _cosines(inputs, outputs, mcm_prompts)
        id_cos = _cosines(view, id_out, mcm_prompts)
    skipped: dict[str, str] = {}
    values: list[MetricValue] = []
    computed: dict[str, str] = {}
    columns: dict[str, list[Any]] = {}
    for name in names:
        score = ood_scores.get(name)
        if score.needs in ("cosines", "local") and not has_cos:
            skipped[name] = "needs raw class cosines (zero-shot model, max/select label space)"
            continue
        if score.needs == "local" and not has_local:
            skipped[name] = "needs patch embeddings in the joint space (open_clip ViTs)"
            continue
        ood_in = ScoreInputs(outputs.logits, ood_cos, None, score_params)
        id_in = ScoreInputs(id_out.logits, id_cos, None, score_params)
        if score.needs == "local":
            ood_in.local = _with_head(inputs, inputs.artefact("local"), mcm_prompts).align(outputs.sample_ids)
            assert id_local is not None
            id_local_scored = _with_head(inputs, id_local, mcm_prompts)
            if record.get("id_rescored_as"):
                id_local_scored = id_local_scored.in_space(outputs.label_space)
            id_in.local = id_local_scored.align(id_out.sample_ids)
        ood_s, id_s = score.fn(ood_in), score.fn(id_in)
        values += _metric_values(name, id_s, ood_s, params.tpr, params.hist_bins, settings, params.fpr_rule)
        computed[name] = score.definition
        columns[f"ood_{name}"] = [None if np.isnan(v) else float(v) for v in ood_s]
    protocol = {
        "ood": {
            **CONVENTIONS,
            "tpr": params.tpr,
            "fpr95": FPR_RULES[params.fpr_rule].definition,
            "fpr95_rule": params.fpr_rule,
            "mcm_prompts": (
                f"single template {mcm_prompts!r} (Ming et al. 2022; Miyai et al. 2023)"
                if mcm_prompts
                else "the run's prompt set"
            ),
            "scores": computed,
            "skipped": skipped,
            "params": score_params,
            **record,
            "n_id": len(id_out),
            "n_ood": len(outputs),
        }
    }
    return GroupResult(values, protocol, columns)


def _metric_values(
    name: str,
    id_s: np.ndarray,
    ood_s: np.ndarray,
    tpr: float,
    hist_bins: int,
    boot: dict[str, Any],
    rule: str = "reference",
) -> list[MetricValue]:
    """The four metrics of one score, with stratified bootstrap intervals and the details to plot and audit."""
    id_ok, ood_ok = id_s[np.isfinite(id_s)], ood_s[np.isfinite(ood_s)]
    ranked = RankedScores.of(id_ok, ood_ok)
    point = ranked.metrics(tpr=tpr, rule=rule)
    fpr, threshold, reached = ranked.fpr_at(tpr, rule=rule)
    ci = stratified_bootstrap(
        lambda i, j: ranked.metrics(
            np.bincount(i, minlength=id_ok.size), np.bincount(j, minlength=ood_ok.size), tpr, rule
        ),
        id_ok.size,
        ood_ok.size,
        boot["n_boot"],
        boot["alpha"],
        boot["seed"],
    )
    common = {
        "n_id": int(id_ok.size),
        "n_ood": int(ood_ok.size),
        "n_id_undefined": int(id_s.size - id_ok.size),
        "n_ood_undefined": int(ood_s.size - ood_ok.size),
        "positive": "in-distribution",
    }
    if not id_ok.size or not ood_ok.size:
        common["reason"] = "empty in-distribution or OOD set: detection metrics are undefined"
    extra = {
        "auroc": {"histogram": score_histogram(id_ok, ood_ok, hist_bins)},
        "aupr_in": {},
        "aupr_out": {},
        "fpr95": {"tpr": tpr, "threshold": threshold, "tpr_reached": reached, "rule": rule},
    }
    higher = {"auroc": True, "aupr_in": True, "aupr_out": True, "fpr95": False}
    return [
        MetricValue(f"{name}_{metric}", point[metric], higher[metric], *ci[metric], {**common, **extra[metric]})
        for metric in ("auroc", "aupr_in", "aupr_out", "fpr95")
    ]
