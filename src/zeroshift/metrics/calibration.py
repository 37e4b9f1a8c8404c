"""Calibration: ECE (equal-width and adaptive bins), MCE, NLL, Brier, reliability diagrams, temperature scaling.

Conventions (DESIGN, "Protocols"; recorded in every record by :func:`calibration_group`):

* the confidence is the **top-label** softmax probability, a prediction is correct when its argmax is the label;
* **ECE** uses ``n_bins`` (15) equal-width bins of the confidence, each bin ``(lo, hi]`` with the first bin
  closed at 0, so a confidence of exactly 1.0 falls in the last bin (torchmetrics uses ``[lo, hi)`` and a
  hidden extra bin for 1.0; the two agree whenever no confidence sits exactly on an edge);
* **adaptive ECE** uses ``n_bins`` equal-mass bins of the sorted confidences (sizes differ by at most one);
* **MCE** is the largest ``|accuracy - confidence|`` over the non-empty equal-width bins;
* **NLL** is the mean of ``-log softmax(z)[y]`` (natural log); **Brier** is the mean over samples of
  ``sum_c (p_c - 1[y = c])^2`` (range [0, 2], the multi-class form of Brier 1950);
* samples whose logits contain NaN or +inf (or no finite value) have no probabilities: they are left out and
  counted (``n_nonfinite``), never allowed to poison a mean.

Temperature scaling (Guo et al. 2017) fits ``T`` by NLL on a held-out split of an in-distribution set and applies
that same ``T`` to every benchmark and shift of the run (calibration under shift); see
:mod:`zeroshift.metrics.temperature`.

Example:
    >>> import numpy as np
    >>> conf = np.array([0.9, 0.8, 0.3, 1.0])
    >>> correct = np.array([True, False, False, True])
    >>> round(expected_calibration_error(conf, correct, n_bins=10), 4)  # (0.1 + 0.8 + 0.3 + 0) / 4
    0.3
    >>> equal_width_bin_index(np.array([0.0, 0.1, 0.1000001, 1.0]), 10).tolist()
    [0, 0, 1, 9]

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.core.numeric import finite_rows
from zeroshift.errors import DatasetError, UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, metric_group
from zeroshift.metrics.temperature import TemperatureFit, check_ts_split, fit_temperature, heldout_split
from zeroshift.params import Param

#: the ECE bin count of VLM_calibrate, torchmetrics, robustness_metrics and OpenOOD
DEFAULT_BINS = 15


def confidence_and_correct(logits: torch.Tensor, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-label softmax confidence and whether the argmax equals the label, per sample (float64).

    Example:
        >>> import torch, numpy as np
        >>> conf, ok = confidence_and_correct(torch.tensor([[0.0, 0.0], [2.0, 0.0]]), np.array([1, 1]))
        >>> conf.round(3).tolist(), ok.tolist()
        ([0.5, 0.881], [False, False])

    """
    z = logits.detach().double()
    if z.shape[0] == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    probs = torch.softmax(z, dim=1)
    conf, pred = probs.max(dim=1)
    return conf.cpu().numpy(), pred.cpu().numpy() == np.asarray(labels)


def bin_edges(n_bins: int) -> np.ndarray:
    """The ``n_bins + 1`` equal-width edges over [0, 1].

    Example:
        >>> bin_edges(4).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]

    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise UsageError(f"calibration: n_bins must be a positive integer, got {n_bins!r}")
    return np.linspace(0.0, 1.0, int(n_bins) + 1)


def equal_width_bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each confidence for bins ``(lo, hi]``, the first closed at 0 (so 0 -> bin 0 and 1 -> the last bin).

    Example:
        >>> equal_width_bin_index(np.array([0.0, 0.5, 0.50001, 1.0]), 2).tolist()
        [0, 0, 1, 1]

    """
    edges = bin_edges(n_bins)
    # searchsorted(side='left') returns i with edges[i-1] < c <= edges[i]: exactly the (lo, hi] convention
    idx = np.searchsorted(edges, np.asarray(confidence, dtype=np.float64), side="left") - 1
    return np.clip(idx, 0, len(edges) - 2)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> list[dict[str, Any]]:
    """Reliability-diagram data: per equal-width bin its edges, mean confidence, accuracy and count.

    Empty bins have ``count`` 0 and ``confidence``/``accuracy`` None.

    Example:
        >>> bins = reliability_bins(np.array([0.2, 0.9, 0.95]), np.array([False, True, False]), n_bins=2)
        >>> [(b["lo"], b["hi"], b["count"], b["accuracy"]) for b in bins]
        [(0.0, 0.5, 1, 0.0), (0.5, 1.0, 2, 0.5)]

    """
    edges = bin_edges(n_bins)
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    idx = equal_width_bin_index(conf, n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=hit, minlength=n_bins)
    out = []
    for b in range(n_bins):
        n = int(counts[b])
        out.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "confidence": float(conf_sum[b] / n) if n else None,
                "accuracy": float(hit_sum[b] / n) if n else None,
                "count": n,
            }
        )
    return out


def _binned_gaps(confidence: np.ndarray, correct: np.ndarray, idx: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    counts = np.bincount(idx, minlength=n_bins).astype(np.float64)
    conf_sum = np.bincount(idx, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=correct.astype(np.float64), minlength=n_bins)
    used = counts > 0
    gaps = np.abs(hit_sum[used] - conf_sum[used]) / counts[used]
    return gaps, counts[used]


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """ECE = sum over equal-width bins of ``|B|/n * |acc(B) - conf(B)|`` (NaN for no samples).

    Example:
        >>> expected_calibration_error(np.array([0.75, 0.75]), np.array([True, False]), n_bins=15)
        0.25

    """
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.size == 0:
        return float("nan")
    gaps, counts = _binned_gaps(conf, np.asarray(correct), equal_width_bin_index(conf, n_bins), n_bins)
    return float(np.sum(gaps * counts) / conf.size)


def maximum_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """MCE = max over non-empty equal-width bins of ``|acc(B) - conf(B)|`` (NaN for no samples).

    Example:
        >>> maximum_calibration_error(np.array([0.1, 0.9]), np.array([False, False]), n_bins=2)
        0.9

    """
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.size == 0:
        return float("nan")
    gaps, _ = _binned_gaps(conf, np.asarray(correct), equal_width_bin_index(conf, n_bins), n_bins)
    return float(gaps.max())


def adaptive_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> float:
    """Adaptive ECE: the ECE formula over ``n_bins`` equal-mass bins of the sorted confidences.

    Samples are sorted by confidence (stable, so ties keep sample order) and cut into ``n_bins`` runs whose sizes
    differ by at most one (``numpy.array_split``); with fewer samples than bins, each sample is its own bin.

    Example:
        >>> conf, correct = np.array([0.2, 0.4, 0.6, 0.8]), np.array([False, True, True, True])
        >>> round(adaptive_calibration_error(conf, correct, n_bins=2), 4)  # (|0.5 - 0.3| + |1 - 0.7|) / 2
        0.25

    """
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.size == 0:
        return float("nan")
    bins = min(int(n_bins), conf.size)
    order = np.argsort(conf, kind="stable")
    idx = np.empty(conf.size, dtype=np.int64)
    for b, members in enumerate(np.array_split(order, bins)):
        idx[members] = b
    gaps, counts = _binned_gaps(conf, np.asarray(correct), idx, bins)
    return float(np.sum(gaps * counts) / conf.size)


def negative_log_likelihood(logits: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    """Per-sample ``-log softmax(z)[y]`` (natural log, float64, computed stably with log-softmax).

    Example:
        >>> import torch, numpy as np
        >>> negative_log_likelihood(torch.tensor([[0.0, 0.0]]), np.array([1])).round(4).tolist()
        [0.6931]

    """
    z = logits.detach().double()
    if z.shape[0] == 0:
        return np.zeros(0)
    logp = torch.log_softmax(z, dim=1)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    return (-logp.gather(1, y[:, None]).squeeze(1)).cpu().numpy()


def brier_score(logits: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    """Per-sample multi-class Brier score ``sum_c (p_c - 1[y = c])^2`` (range [0, 2]).

    Example:
        >>> import torch, numpy as np
        >>> brier_score(torch.tensor([[0.0, 0.0]]), np.array([0])).tolist()
        [0.5]

    """
    z = logits.detach().double()
    if z.shape[0] == 0:
        return np.zeros(0)
    p = torch.softmax(z, dim=1)
    onehot = torch.zeros_like(p)
    onehot[torch.arange(p.shape[0]), torch.as_tensor(np.asarray(labels), dtype=torch.long)] = 1.0
    return ((p - onehot) ** 2).sum(dim=1).cpu().numpy()


def calibration_values(
    logits: torch.Tensor,
    labels: np.ndarray,
    n_bins: int = DEFAULT_BINS,
    adaptive_bins: int | None = None,
    suffix: str = "",
    boot: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> list[MetricValue]:
    """ECE (with its reliability bins), adaptive ECE, MCE, NLL and Brier of ``logits`` against ``labels``.

    ``logits`` must already be restricted to valid rows (see :func:`finite_rows`); names get ``suffix``
    (``_ts`` after temperature scaling).

    Example:
        >>> import torch, numpy as np
        >>> vals = calibration_values(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 0]), boot={"n_boot": 0})
        >>> [v.name for v in vals]
        ['ece', 'ece_adaptive', 'mce', 'nll', 'brier']

    """
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    adaptive_bins = adaptive_bins or n_bins
    labels = np.asarray(labels)
    conf, correct = confidence_and_correct(logits, labels)
    n = conf.size
    common = dict(details or {})
    common["n"] = int(n)

    def ci(fn: Any, bins: int) -> tuple[float, float]:
        return bootstrap_ci(
            lambda idx: fn(conf[idx], correct[idx], bins), n, boot["n_boot"], boot["alpha"], boot["seed"]
        )

    ece = expected_calibration_error(conf, correct, n_bins)
    mce = maximum_calibration_error(conf, correct, n_bins)
    aece = adaptive_calibration_error(conf, correct, adaptive_bins)
    edges = [float(e) for e in bin_edges(n_bins)]
    return [
        MetricValue(
            f"ece{suffix}",
            ece,
            False,
            *ci(expected_calibration_error, n_bins),
            {**common, "n_bins": int(n_bins), "edges": edges, "bins": reliability_bins(conf, correct, n_bins)},
        ),
        MetricValue(
            f"ece_adaptive{suffix}",
            aece,
            False,
            *ci(adaptive_calibration_error, adaptive_bins),
            {**common, "n_bins": int(min(adaptive_bins, max(n, 1)))},
        ),
        MetricValue(f"mce{suffix}", mce, False, *ci(maximum_calibration_error, n_bins), {**common, "n_bins": n_bins}),
        mean_with_ci(negative_log_likelihood(logits, labels), f"nll{suffix}", False, boot, common),
        mean_with_ci(brier_score(logits, labels), f"brier{suffix}", False, boot, common),
    ]


#: what every calibration record states about its conventions
CONVENTIONS = {
    "confidence": "top-label softmax probability; correct = argmax equals the label",
    "ece": "sum over equal-width bins of |B|/n * |accuracy - confidence|; bins (lo, hi], first bin [0, hi]",
    "ece_adaptive": "ECE formula over equal-mass bins of the sorted confidences (sizes differ by at most one)",
    "mce": "max over non-empty equal-width bins of |accuracy - confidence|",
    "nll": "mean of -log softmax(z)[y], natural log",
    "brier": "mean over samples of sum_c (p_c - 1[y=c])^2, range [0, 2]",
    "nonfinite": "samples whose logits hold NaN or +inf (or no finite value) are left out and counted",
    "temperature_scaling": "T = argmin NLL(softmax(z / T)) on a held-out split of the in-distribution set; "
    "the same T is applied to every benchmark and shift (calibration under shift)",
}


def _bins(value: Any) -> int:
    bin_edges(value)  # one check for every bin count: a positive integer
    return value


def _optional_bins(value: Any) -> int | None:
    return None if value is None else _bins(value)


def _optional_spec(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"calibration.id must be a benchmark spec such as 'imagenet', got {value!r}")
    return value


def needs_labels(benchmark: Any, shift: Any = None) -> None:
    """The group's check: calibration compares confidence with correctness, so it needs labelled samples.

    Example:
        >>> from zeroshift.data import make_benchmark
        >>> needs_labels(make_benchmark("imagenet_o", None))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: calibration needs labelled samples; imagenet_o is an OOD set ...

    """
    if benchmark is not None and not benchmark.labelled:
        raise UsageError(
            f"calibration needs labelled samples; {benchmark.name} is an OOD set (use the ood metric group for it)"
        )


def _needs(params: Params) -> tuple[Need, ...]:
    # the temperature is fitted on a held-out split of the in-distribution set, unless it is given
    if params.temperature is not None:
        return ()
    return (Need("in_distribution", overrides={"benchmark": params.id} if params.id else {}),)


@metric_group(
    "calibration",
    metrics=(
        MetricSpec(
            "ece", "ECE", False, "expected calibration error over equal-width bins (reliability bins in details)"
        ),
        MetricSpec("ece_adaptive", "adaptive ECE", False, "ECE over equal-mass bins"),
        MetricSpec("mce", "MCE", False, "largest bin gap between accuracy and confidence"),
        MetricSpec("nll", "NLL", False, "mean negative log-likelihood of the label"),
        MetricSpec("brier", "Brier", False, "multi-class Brier score"),
        MetricSpec("ece_ts", "ECE (after TS)", False, "ECE after temperature scaling"),
        MetricSpec("ece_adaptive_ts", "adaptive ECE (after TS)", False, "adaptive ECE after temperature scaling"),
        MetricSpec("mce_ts", "MCE (after TS)", False, "MCE after temperature scaling"),
        MetricSpec("nll_ts", "NLL (after TS)", False, "NLL after temperature scaling"),
        MetricSpec("brier_ts", "Brier (after TS)", False, "Brier score after temperature scaling"),
        MetricSpec("temperature", "temperature", None, "the fitted (or given) temperature T"),
    ),
    params={
        "n_bins": Param(DEFAULT_BINS, "equal-width bins of ECE and MCE", check=_bins),
        "adaptive_bins": Param(None, "equal-mass bins of adaptive ECE (default: n_bins)", check=_optional_bins),
        "id": Param(
            None,
            "in-distribution benchmark whose held-out split fits T (default: the benchmark's)",
            check=_optional_spec,
        ),  # fmt: skip
        "ts_split": Param(0.5, "size of the fitting split: a fraction in (0, 1) or a count", check=check_ts_split),
        "ts_seed": Param(0, "seed of the fitting split"),
        "temperature": Param(None, "a given T instead of fitting one"),
    },
    needs=_needs,
    check=needs_labels,
)
def calibration_group(inputs: Any, params: Params) -> GroupResult:
    """ECE, adaptive ECE, MCE, NLL, Brier before and after temperature scaling.

    Parameters: ``n_bins`` equal-width bins of ECE and MCE (15); ``adaptive_bins`` equal-mass bins of adaptive ECE
    (default ``n_bins``); ``id`` the in-distribution benchmark whose held-out split fits ``T`` (default: the
    benchmark's ``in_distribution``, else the benchmark itself, clean); ``ts_split`` the size of the fitting split,
    a fraction in (0, 1) or a count of samples; ``ts_seed`` the seed of the split (a permutation of the
    in-distribution samples in sample-id order); ``temperature`` a given ``T`` instead of fitting one.

    Metrics: ``ece``, ``ece_adaptive``, ``mce``, ``nll``, ``brier`` and the same with ``_ts`` after scaling, and
    ``temperature``. When the run evaluates the in-distribution images themselves (any shift), the ``_ts`` values
    leave out the fitting split, so no sample both fits ``T`` and measures it.

    Example:
        >>> calibration_group.name, calibration_group.params["n_bins"].default
        ('calibration', 15)

    """
    outputs = inputs.outputs
    needs_labels(inputs.benchmark)
    n_bins, adaptive_bins = params.n_bins, params.adaptive_bins
    settings = params.bootstrap
    finite = finite_rows(outputs.logits)
    n_nonfinite = int((~finite).sum())
    rows = np.flatnonzero(finite & (np.asarray(outputs.labels) >= 0))
    logits = outputs.logits[torch.from_numpy(rows)] if len(outputs) else outputs.logits
    labels = np.asarray(outputs.labels)[rows]
    common = {"n_nonfinite": n_nonfinite}
    values = calibration_values(logits, labels, n_bins, adaptive_bins, "", settings, common)

    fit, fit_ids, id_record = _temperature(inputs, params.id, params.ts_split, params.ts_seed, params.temperature)
    same_images = id_record.get("same_images", False)
    if same_images and fit_ids:
        keep = np.asarray([outputs.sample_ids[i] not in fit_ids for i in rows], dtype=bool)
        eval_rows = rows[keep]
    else:
        eval_rows = rows
    eval_logits = outputs.logits[torch.from_numpy(eval_rows)] if len(eval_rows) else outputs.logits[:0]
    eval_labels = np.asarray(outputs.labels)[eval_rows]
    scope = "held-out split (fitting split left out)" if same_images and fit_ids else "all samples"
    ts_details = {**common, "temperature": fit.temperature, "samples": scope}
    if eval_rows.size != rows.size:
        before_same = expected_calibration_error(*confidence_and_correct(eval_logits, eval_labels), n_bins=n_bins)
        ts_details["ece_before_same_samples"] = before_same
    columns: dict[str, list[Any]] = {}
    if np.isfinite(fit.temperature):
        scaled = eval_logits.double() / fit.temperature
        values += calibration_values(scaled, eval_labels, n_bins, adaptive_bins, "_ts", settings, ts_details)
        conf_ts = np.full(len(outputs), np.nan)
        conf_ts[eval_rows] = confidence_and_correct(scaled, eval_labels)[0]
        columns["confidence_ts"] = [None if np.isnan(c) else round(float(c), 6) for c in conf_ts]
    else:
        nan = float("nan")
        values += [
            MetricValue(f"{name}_ts", nan, False, None, None, {**ts_details, "reason": fit.note})
            for name in ("ece", "ece_adaptive", "mce", "nll", "brier")
        ]
    values.append(
        MetricValue(
            "temperature",
            fit.temperature,
            False,
            None,
            None,
            {**fit.as_dict(), **id_record, "direction": "none (1 = unchanged; > 1 softens, < 1 sharpens)"},
        )
    )
    protocol = {
        "calibration": {
            **CONVENTIONS,
            "n_bins": int(n_bins),
            "adaptive_bins": int(adaptive_bins or n_bins),
            "temperature": {**fit.as_dict(), **id_record},
            "ts_samples": scope,
        }
    }
    return GroupResult(values, protocol, columns)


def _temperature(
    inputs: Any, id_spec: str | None, ts_split: float | int, ts_seed: int, given: float | None
) -> tuple[TemperatureFit, set[str], dict[str, Any]]:
    """Fit (or take) the temperature; returns the fit, the sample ids of the fitting split and what to record."""
    if given is not None:
        try:
            t = float(given)
        except (TypeError, ValueError):
            raise UsageError(f"calibration.temperature must be a positive number, got {given!r}") from None
        if not np.isfinite(t) or t <= 0:
            raise UsageError(f"calibration.temperature must be a positive number, got {given!r}")
        return TemperatureFit(t, float("nan"), float("nan"), 0, False, "given"), set(), {"source": "given"}
    id_out, same, record = _in_distribution(inputs, id_spec)
    valid = finite_rows(id_out.logits) & (np.asarray(id_out.labels) >= 0)
    order = np.argsort(np.asarray(id_out.sample_ids, dtype=object), kind="stable")
    candidates = order[valid[order]]
    chosen = heldout_split(len(candidates), ts_split, ts_seed)
    fit_rows = np.sort(candidates[chosen])
    fit_logits = id_out.logits[torch.from_numpy(fit_rows)] if fit_rows.size else id_out.logits[:0]
    fit = fit_temperature(fit_logits, np.asarray(id_out.labels)[fit_rows])
    record.update(
        {
            "same_images": same,
            "split": {
                "seed": int(ts_seed),
                "requested": ts_split,
                "fit_size": int(fit_rows.size),
                "id_size": int(len(candidates)),
                "selection": "seeded permutation of the valid in-distribution samples in sample-id order",
            },
        }
    )
    return fit, {id_out.sample_ids[i] for i in fit_rows}, record


def _in_distribution(inputs: Any, id_spec: str | None) -> tuple[Any, bool, dict[str, Any]]:
    """The in-distribution outputs for fitting T (the ``in_distribution`` relation, or ``id`` when given)."""
    try:
        view = inputs.related("in_distribution", **({"benchmark": id_spec} if id_spec else {}))
        bench, id_bench = inputs.benchmark, view.benchmark
        if id_bench is None:  # outside a run: the outputs themselves
            return inputs.outputs, True, {"source": "fitted", "id_benchmark": None}
        if not id_bench.labelled:
            raise UsageError(f"calibration.id: {id_bench.name} has no labels; choose a labelled in-distribution set")
        id_out = view.outputs
    except DatasetError as err:
        name = id_spec or getattr(inputs.benchmark, "in_distribution", None) or inputs.benchmark.name
        raise DatasetError(
            f"calibration fits its temperature on a held-out split of {name} (calibration.id); {err} "
            "Or give calibration.id=BENCHMARK or calibration.temperature=T with --metric-param."
        ) from None
    record = {
        "source": "fitted",
        "id_benchmark": id_bench.canonical,
        "id_label_space": id_out.label_space.name,
        "id_condition": "clean",
    }
    # the run shows the in-distribution images themselves (clean, shifted, or as released corrupted copies such as
    # ImageNet-C): the fitting split is then left out of the scaled metrics
    return id_out, id_bench.canonical == bench.condition()["base"], record
