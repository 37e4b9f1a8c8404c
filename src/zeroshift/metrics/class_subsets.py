"""Accuracy of an ImageNet run on the class subsets of the natural shifts (the testbed's ``val-on-*-classes``).

ImageNet-R and -A are scored over their own 200 classes and ObjectNet over the 125 ImageNet classes mapped to
its 113, so their in-distribution reference is ImageNet val restricted to the same classes: the images of those
classes, with the argmax taken over those classes only (Taori et al. 2020; timm's ``results-imagenet-{r,a}-clean``).
Computed from the 1000-way outputs of an ``imagenet`` run, so effective robustness needs no extra encoding.

Example:
    >>> import numpy as np, torch
    >>> logits = torch.tensor([[0.0, 5.0, 1.0], [0.0, 1.0, 5.0], [9.0, 1.0, 2.0]])
    >>> correct, n = subset_correct(logits, np.array([2, 2, 1]), [1, 2])
    >>> correct.tolist(), n
    ([False, True, False], 3)

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.metrics.base import mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Params, metric_group


def subset_correct(logits: torch.Tensor, labels: np.ndarray, columns: Sequence[int]) -> tuple[np.ndarray, int]:
    """Per sample of the subset's classes, whether the argmax over the subset's columns is its label.

    Args:
        logits: ``(N, U)`` scores over the whole universe.
        labels: universe label per sample.
        columns: the universe columns of the subset (also the classes whose samples count).

    Returns:
        ``(correct, n)``: one bool per sample whose label is in ``columns``, and how many there are.

    """
    cols = np.asarray(sorted(set(int(c) for c in columns)), dtype=np.int64)
    labels = np.asarray(labels)
    keep = np.isin(labels, cols)
    if not keep.any():
        return np.zeros(0, dtype=bool), 0
    sub = logits[torch.from_numpy(keep)][:, torch.from_numpy(cols)]
    pred = cols[sub.argmax(dim=1).cpu().numpy()]
    return pred == labels[keep], int(keep.sum())


def class_subsets() -> dict[str, tuple[int, ...]]:
    """Metric name -> ImageNet columns of each natural shift's class subset."""
    from zeroshift.data.info import subset_wnids, wnid_index
    from zeroshift.data.objectnet import objectnet_mapping

    index = wnid_index()
    return {
        "top1_on_imagenet_r_classes": tuple(index[w] for w in subset_wnids("imagenet_r")),
        "top1_on_imagenet_a_classes": tuple(index[w] for w in subset_wnids("imagenet_a")),
        "top1_on_objectnet_classes": tuple(sorted({c for _, cols in objectnet_mapping() for c in cols})),
    }


@metric_group(
    "class_subsets",
    metrics=(
        MetricSpec(
            "top1_on_{subset}_classes",
            "top-1 on the {subset} classes",
            True,
            "ImageNet val restricted to a natural shift's classes (images and argmax)",
            fields={"subset": ("imagenet_r", "imagenet_a", "objectnet")},
            names={"imagenet_r": "ImageNet-R", "imagenet_a": "ImageNet-A", "objectnet": "ObjectNet"},
        ),
    ),
)
def class_subsets_group(inputs: Any, params: Params) -> GroupResult:
    """Top-1 on the classes of ImageNet-R, ImageNet-A and ObjectNet, from 1000-way ImageNet outputs.

    Needs outputs over the whole ImageNet universe (the ``imagenet`` benchmark); for any other label space it
    returns nothing.
    """
    outputs = inputs.outputs
    space = outputs.label_space
    if space.universe != "imagenet1k" or space.columns != tuple((i,) for i in range(len(space.universe_names))):
        return GroupResult()
    settings = params.bootstrap
    values = []
    for name, columns in class_subsets().items():
        correct, n = subset_correct(outputs.logits, outputs.labels, columns)
        if n == 0:
            continue
        details = {"n": n, "n_classes": len(columns), "protocol": "images of the subset's classes, argmax over them"}
        values.append(mean_with_ci(correct, name, True, settings, details))
    return GroupResult(values)
