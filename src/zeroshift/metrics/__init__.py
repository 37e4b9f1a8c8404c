"""Metric groups, registered by name; each is a pure function of a run's outputs.

Example:
    >>> "accuracy" in metrics
    True

"""

from __future__ import annotations

from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.registry import Registry

metrics: Registry = Registry("metric group")
for _name, _target in {
    "accuracy": "zeroshift.metrics.accuracy:accuracy_group",
    "factor_accuracy": "zeroshift.metrics.factors:factor_accuracy_group",
    "calibration": "zeroshift.metrics.calibration:calibration_group",
    "ood": "zeroshift.metrics.ood:ood_group",
    "class_subsets": "zeroshift.metrics.class_subsets:class_subsets_group",
    "shape_bias": "zeroshift.metrics.shape_bias:shape_bias_group",
    "typographic": "zeroshift.metrics.typographic:typographic_group",
    "adversarial": "zeroshift.metrics.adversarial:adversarial_group",
    "min_epsilon": "zeroshift.metrics.adversarial:min_epsilon_group",
}.items():
    metrics.register_lazy(_name, _target)

__all__ = ["DEFAULT_BOOTSTRAP", "MetricValue", "bootstrap_ci", "mean_with_ci", "metrics"]
