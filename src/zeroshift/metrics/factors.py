"""Accuracy broken down by exact per-sample factor labels (ImageNet-X style), with error ratios.

For every factor column of the benchmark (``Benchmark.factor_columns``, or the ``columns`` parameter) and every
level present, the group reports ``top1[factor=level]`` with a bootstrap interval; its details hold the
sample count and the ImageNet-X error ratio ``(1 - acc_level) / (1 - acc_overall)``. Samples whose label for a
factor is ``None`` (the factor does not apply) are left out of that factor. Where the dataset has a
``varied`` column (a split that varies one factor per sample, the rest in-distribution), a factor is broken
down over the samples that vary it only, so levels are compared with everything else held to the same
distribution.

Example:
    >>> import numpy as np, torch
    >>> from types import SimpleNamespace
    >>> out = SimpleNamespace(labels=np.array([0, 1, 1, 0]), logits=torch.tensor([[1., 0], [0, 1], [1, 0], [1, 0]]),
    ...                       meta={"style": ["a", "a", "b", "b"]})
    >>> [(v.name, v.value) for v in factor_accuracy_group(out, columns=("style",), n_boot=0)]
    [('top1[style=a]', 1.0), ('top1[style=b]', 0.5)]

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.metrics.accuracy import topk_correct
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, mean_with_ci


def factor_accuracy_group(
    outputs: Any, context: Any = None, columns: tuple[str, ...] | list[str] | None = None, **boot: Any
) -> list[MetricValue]:
    """The ``factor_accuracy`` metric group: top-1 per level of each factor, with error ratios."""
    if columns is None:
        columns = getattr(getattr(context, "benchmark", None), "factor_columns", ())
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    labelled = np.asarray(outputs.labels) >= 0
    if not labelled.any():
        return []
    correct = np.zeros(len(labelled), dtype=bool)
    correct[labelled] = topk_correct(outputs.logits[labelled], np.asarray(outputs.labels)[labelled], 1)
    overall = float(correct[labelled].mean())
    varied = outputs.meta.get("varied")
    values: list[MetricValue] = []
    for column in columns:
        if column not in outputs.meta:
            continue
        levels = outputs.meta[column]
        rows = [
            i
            for i in range(len(levels))
            if labelled[i] and levels[i] is not None and (varied is None or varied[i] == column)
        ]
        for level in dict.fromkeys(levels[i] for i in rows):  # levels in order of first appearance
            idx = np.asarray([i for i in rows if levels[i] == level])
            acc = float(correct[idx].mean())
            details = {
                "factor": column,
                "level": level,
                "n": int(idx.size),
                "error_ratio": (1 - acc) / (1 - overall) if overall < 1 else None,
                "overall_top1": overall,
                "within_varied": varied is not None,
            }
            values.append(mean_with_ci(correct[idx], f"top1[{column}={level}]", True, settings, details))
    return values
