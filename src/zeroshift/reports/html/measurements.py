"""The report's layout: which metrics each section draws, in which order, and the six factors it compares.

Metric names, directions and labels are not defined here: they come from the metric groups' declarations
(:mod:`zeroshift.metrics.group`), so the report can never disagree with what the groups produce (a test checks every
name below against them). What a condition is (its kind, corruption, in-distribution set) comes from the records'
structured fields (:mod:`zeroshift.conditions`).

Example:
    >>> ood_metric("energy_fpr95"), label("energy_fpr95")
    (('energy', 'fpr95'), 'energy FPR@95TPR')
    >>> factor_of("top1[style=sketch]")
    ('style', 'sketch')
    >>> [m.name for m in FACTOR_MEASUREMENTS]
    ['i2t_r1', 'mean_recall', 'gap_distance']

"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from zeroshift.metrics import groups
from zeroshift.metrics.group import metric_label

#: the headline number of every condition
PRIMARY = "top1"
#: accuracy columns of the accuracy table
ACCURACY = ("top1", "top5", "mean_per_class_recall")
#: calibration metrics before temperature scaling; ``NAME + TS_SUFFIX`` after it
CALIBRATION = ("ece", "ece_adaptive", "mce", "nll", "brier")
TS_SUFFIX = "_ts"
TEMPERATURE = "temperature"
#: the metric whose ``details["bins"]`` hold the reliability diagram: [{lo, hi, confidence, accuracy, count}]
RELIABILITY = "ece"
#: the detection metrics of each OOD score, in column order; ``details[OOD_HISTOGRAM]`` of ``<score>_auroc``
OOD_METRICS = ("auroc", "aupr_in", "aupr_out", "fpr95")
OOD_HISTOGRAM = "histogram"
#: shape bias (per-category values in ``details["per_category"]``)
SHAPE_BIAS = "shape_bias"

#: the six factors of the literature, as fields of the record's model_info (``prompts`` is the record's own)
SIX_FACTORS = (
    ("family", "architecture family"),
    ("architecture", "architecture"),
    ("training_data", "training distribution"),
    ("data_size", "training-set size"),
    ("loss", "loss"),
    ("fine_tuned", "fine-tuned"),
    ("prompts", "prompt set"),
)


@dataclass(frozen=True)
class FactorMeasurement:
    """A measurement the six-factor analysis breaks down, besides the accuracy, calibration, OOD and shape-bias ones.

    It is read on the clean condition (no shift) of one of ``kinds`` (the records' condition kind) that the most
    models have. ``prompt_free``: the record's prompt set cannot change it (retrieval scores captions, not prompts),
    so the prompt-set factor is not asked of it and a model's value is taken from any of its prompt sets.

    Example:
        >>> FactorMeasurement("i2t_r1", ("retrieval",), prompt_free=True).kinds
        ('retrieval',)

    """

    name: str
    kinds: tuple[str, ...]
    prompt_free: bool = False


#: retrieval and the modality gap against the six factors (issue 12): image→text R@1, RSUM/6 and the gap, each on the
#: clean retrieval set most models were run on (the six-factor ranges, its table, the retrieval section)
FACTOR_MEASUREMENTS = (
    FactorMeasurement("i2t_r1", ("retrieval",), prompt_free=True),
    FactorMeasurement("mean_recall", ("retrieval",), prompt_free=True),
    FactorMeasurement("gap_distance", ("retrieval",), prompt_free=True),
)

#: the baseline population of the published effective-robustness analysis drawn in the report
ER_PUBLISHED_BASELINE = "testbed"


def label(name: str) -> str:
    """The display label of a metric (from the declaring group)."""
    return metric_label(name)


def group_pattern(group: str) -> str:
    """A regular expression matching every metric name the group declares (for section requirements)."""
    parts = (re.sub(r"\(\?P<\w+>", "(?:", spec.regex.pattern) for spec in groups.get(group).metrics)
    return "|".join(f"(?:{part})" for part in parts)


def ood_scores() -> tuple[str, ...]:
    """The OOD scores the ``ood`` group can compute, in its order."""
    spec = groups.get("ood").metrics[0]
    return tuple(spec.fields["score"])


@functools.lru_cache(maxsize=4096)
def ood_metric(name: str) -> tuple[str, str] | None:
    """``(score, metric)`` of an OOD metric name, else None."""
    for spec in groups.get("ood").metrics:
        found = spec.match(name)
        if found is not None:
            return found["score"], spec.pattern.removeprefix("{score}_")
    return None


@functools.lru_cache(maxsize=4096)
def factor_of(name: str) -> tuple[str, str] | None:
    """``(factor, level)`` of a per-factor accuracy metric, else None."""
    for spec in groups.get("factor_accuracy").metrics:
        found = spec.match(name)
        if found is not None:
            return found["factor"], found["level"]
    return None


def factor_pattern() -> re.Pattern[str]:
    """The regular expression of per-factor accuracy names."""
    return groups.get("factor_accuracy").metrics[0].regex


def layout_names() -> list[str]:
    """Every metric name this layout draws (checked against the declarations by the tests)."""
    scores = ood_scores()
    names = [PRIMARY, *ACCURACY, *CALIBRATION, *(n + TS_SUFFIX for n in CALIBRATION), TEMPERATURE, RELIABILITY]
    names += [SHAPE_BIAS] + [f"{s}_{m}" for s in scores for m in OOD_METRICS]
    return names + [m.name for m in FACTOR_MEASUREMENTS]
