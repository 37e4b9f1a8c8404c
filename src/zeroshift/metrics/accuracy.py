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
import torch

from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci


def topk_correct(logits: torch.Tensor, labels: np.ndarray, k: int) -> np.ndarray:
    """Per sample, whether the label is among the ``k`` highest scores (``k`` capped at the class count)."""
    k = min(k, logits.shape[1])
    top = torch.topk(logits.float(), k, dim=1).indices.cpu().numpy()
    return (top == np.asarray(labels)[:, None]).any(axis=1)


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


def accuracy_group(outputs: Any, context: Any = None, topk: tuple[int, ...] = (1, 5), **boot: Any) -> list[MetricValue]:
    """The ``accuracy`` metric group: top-k for each k, and mean per-class recall (nothing for unlabelled sets)."""
    mask = outputs.labels >= 0
    if not mask.any():
        return []  # an OOD set has no accuracy; its metrics come from groups that pair it with labelled data
    logits, labels = outputs.logits[torch.from_numpy(mask)], outputs.labels[mask]
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    values = []
    correct1 = None
    for k in topk:
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
    return values
