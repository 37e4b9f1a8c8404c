"""Accuracy metrics: top-1, top-5 and mean per-class recall, each with a bootstrap 95% interval.

Example:
    >>> import torch, numpy as np
    >>> logits = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    >>> labels = np.array([0, 1, 1])
    >>> topk_correct(logits, labels, 1).tolist()
    [True, True, False]
    >>> mean_per_class_recall(np.array([True, True, False]), labels)
    0.75

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.errors import SpecError
from zeroshift.metrics.base import MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Params, metric_group
from zeroshift.params import Param

#: the one tie rule of every class ranking in zeroshift's metrics (for the record)
TIE_RULE = (
    "among equal scores the lowest class index ranks first (numpy/torch argmax; a stable descending sort); "
    "NaN ranks above every number, as in torch.sort"
)


def topk_correct(logits: torch.Tensor, labels: np.ndarray, k: int, chunk: int = 4096) -> np.ndarray:
    """Per sample, whether the label is among the ``k`` highest scores (``k`` capped at the class count; -1: no).

    Ties follow :data:`TIE_RULE`: the label is in the top ``k`` when its position in a stable descending sort of
    the row is below ``k``, i.e. when fewer than ``k`` classes score higher than it or tie with it at a lower
    index. That position is counted directly (no sort: O(classes) per row), in the logits' own precision (half
    precision is widened to float32, exactly), so ``k = 1`` agrees with ``argmax`` everywhere.

    Example:
        >>> z = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
        >>> topk_correct(z, np.array([2, 1]), 1).tolist(), topk_correct(z, np.array([2, 1]), 2).tolist()
        ([False, False], [True, True])

    """
    z = logits if logits.dtype in (torch.float32, torch.float64) else logits.float()
    n, n_classes = z.shape
    k = min(k, n_classes)
    labels = np.asarray(labels)
    y = torch.as_tensor(np.maximum(labels, 0), dtype=torch.long, device=z.device).view(-1, 1)
    cols = torch.arange(n_classes, device=z.device).view(1, -1)
    out = np.zeros(n, dtype=bool)
    for start in range(0, n, chunk):  # a few (rows x classes) boolean masks at a time
        rows, yy = z[start : start + chunk], y[start : start + chunk]
        own = rows.gather(1, yy)
        nan, own_nan = torch.isnan(rows), torch.isnan(own)
        above = (rows > own) | (nan & ~own_nan)
        tied = (rows == own) | (nan & own_nan)
        position = above.sum(dim=1) + (tied & (cols < yy)).sum(dim=1)
        out[start : start + chunk] = (position < k).cpu().numpy()
    return out & (labels >= 0)  # no label (-1): never correct


def mean_per_class_recall(correct: np.ndarray, labels: np.ndarray) -> float:
    """Average over the classes present of the fraction of their samples classified correctly.

    ``labels`` are non-negative class indices (bincount keeps the bootstrap linear in the sample count).
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    counts = np.bincount(labels)
    hits = np.bincount(labels, weights=np.asarray(correct, dtype=np.float64), minlength=counts.size)
    present = counts > 0
    return float(np.mean(hits[present] / counts[present]))


def _ks(value: Any) -> tuple[int, ...]:
    ks = (value,) if isinstance(value, int) else tuple(value)
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise SpecError(f"must be positive integers, got {value!r}")
    return ks


@metric_group(
    "accuracy",
    metrics=(
        MetricSpec(
            "top{k}", "top-{k}", True, "fraction of samples whose label is among the k highest scores", {"k": r"\d+"}
        ),
        MetricSpec("mean_per_class_recall", "mean per-class recall", True, "average over classes of their recall"),
    ),
    params={"topk": Param((1, 5), "the k of top-k accuracy", check=_ks)},
)
def accuracy_group(inputs: Any, params: Params) -> GroupResult:
    """Top-k accuracy for each k and mean per-class recall, with bootstrap intervals (nothing for unlabelled sets).

    Example:
        >>> import torch, numpy as np
        >>> from zeroshift.core.outputs import Outputs
        >>> from zeroshift.data.base import LabelSpace
        >>> space = LabelSpace.from_columns("full", ["a", "b"], "u", ["a", "b"], [0, 1])
        >>> out = Outputs(["x", "y"], np.array([0, 1]), torch.tensor([[2.0, 1.0], [3.0, 0.0]]), None, space)
        >>> [(v.name, v.value) for v in accuracy_group(out, n_boot=0, topk=(1,))]
        [('top1', 0.5), ('mean_per_class_recall', 0.5)]

    """
    outputs = inputs.outputs
    mask = outputs.labels >= 0
    if not mask.any():
        return GroupResult()  # an OOD set has no accuracy; its metrics come from groups pairing it with labelled data
    logits, labels = outputs.logits[torch.from_numpy(mask)], outputs.labels[mask]
    settings = params.bootstrap
    values = []
    correct1 = None
    for k in params.topk:
        correct = topk_correct(logits, labels, k)
        if k == 1:
            correct1 = correct
        values.append(mean_with_ci(correct, f"top{k}", True, settings, {"k": k, "n": int(labels.size)}))
    if correct1 is None:
        correct1 = topk_correct(logits, labels, 1)
    lo, hi = bootstrap_ci(
        lambda idx: mean_per_class_recall(correct1[idx], labels[idx]),
        labels.size,
        settings["n_boot"],
        settings["alpha"],
        settings["seed"],
    )
    values.append(
        MetricValue(
            "mean_per_class_recall",
            mean_per_class_recall(correct1, labels),
            True,
            lo,
            hi,
            {"n_classes_present": int(np.unique(labels).size)},
        )
    )
    return GroupResult(values)
