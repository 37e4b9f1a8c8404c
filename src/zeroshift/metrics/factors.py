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
from zeroshift.metrics.base import MetricValue, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Params, metric_group
from zeroshift.params import Param


def _columns(value: Any) -> tuple[str, ...] | None:
    return None if value is None else ((value,) if isinstance(value, str) else tuple(str(v) for v in value))


@metric_group(
    "factor_accuracy",
    metrics=(
        MetricSpec(
            "top1[{factor}={level}]",
            "top-1 at {factor} = {level}",
            True,
            "top-1 over the samples at one level of a factor; details hold the ImageNet-X error ratio",
        ),
    ),
    params={"columns": Param(None, "factor columns to break down (default: the benchmark's)", check=_columns)},
)
def factor_accuracy_group(inputs: Any, params: Params) -> GroupResult:
    """Top-1 per level of each factor, with error ratios (see the module docstring)."""
    outputs = inputs.outputs
    columns = params.columns
    if columns is None:
        columns = inputs.benchmark.factor_columns if inputs.benchmark is not None else ()
    settings = params.bootstrap
    labelled = np.asarray(outputs.labels) >= 0
    if not labelled.any():
        return GroupResult()
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
    return GroupResult(values)
