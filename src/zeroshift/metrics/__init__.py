"""Metric groups: typed declarations registered next to their code (see :mod:`zeroshift.metrics.group`).

Importing this package registers every shipped group; none of their modules imports torch until a group runs, so
the read-only commands can read the declarations (names, directions, labels) cheaply. A plugin registers more with
the same decorator (``@metric_group(...)``).

Example:
    >>> "accuracy" in groups and groups.get("ood").params["tpr"].default
    0.95

"""

from __future__ import annotations

import zeroshift.metrics.bridging  # noqa: F401  (retrieval and modality_gap groups)
from zeroshift.metrics import (  # noqa: F401  (importing a module registers its groups)
    accuracy,
    adversarial,
    calibration,
    class_subsets,
    correspondence,
    factors,
    lmm,
    ood,
    shape_bias,
    typographic,
)
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricGroup, MetricSpec, Need, describe_metric, groups, metric_group

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "GroupResult",
    "MetricGroup",
    "MetricSpec",
    "MetricValue",
    "Need",
    "bootstrap_ci",
    "describe_metric",
    "groups",
    "mean_with_ci",
    "metric_group",
]
from zeroshift.overlap import group as _overlap_group  # noqa: E402, F401  (registers the overlap group)
