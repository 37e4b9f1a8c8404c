"""The one place that maps metric names and spec names to what the report draws.

Metric groups are built in parallel by several parts of zeroshift; when a name changes, change it here and
nowhere else. Sections declare their required measurements with these names (see :mod:`.section`), and
analyses that live in other modules (mCE, the effective-robustness baseline, the human shape-bias reference)
are reached through :data:`PROVIDERS`, imported only if they are installed.

Example:
    >>> ood_metric("energy_fpr95")
    ('energy', 'fpr95')
    >>> corruption_of("imagenet(split='val')", "corruption(name='fog', severity=3)")
    ("imagenet(split='val')", 'fog', 3)
    >>> corruption_of("imagenet_c(corruption='fog', severity=2)", None)
    ('imagenet', 'fog', 2)

"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

from zeroshift.specs import CallSpec

#: accuracy metrics (``accuracy`` group); the first is the headline number of every condition
ACCURACY = ("top1", "top5", "mean_per_class_recall")
PRIMARY = "top1"

#: calibration metrics (``calibration`` group) before temperature scaling; ``NAME + TS_SUFFIX`` after it
CALIBRATION = ("ece", "ece_adaptive", "mce", "nll", "brier")
TS_SUFFIX = "_ts"
TEMPERATURE = "temperature"
#: the metric whose ``details["bins"]`` hold the reliability diagram: [{lo, hi, confidence, accuracy, count}]
RELIABILITY = "ece"

#: OOD scores and the metrics computed for each, named ``<score>_<metric>``
OOD_SCORES = ("msp", "maxlogit", "energy", "mcm", "glmcm")
OOD_METRICS = ("auroc", "aupr_in", "aupr_out", "fpr95")
OOD_PATTERN = re.compile(rf"({'|'.join(OOD_SCORES)})_({'|'.join(OOD_METRICS)})")
#: ``details[OOD_HISTOGRAM]`` of an OOD metric: {"edges": [...], "id": [...], "ood": [...]}
OOD_HISTOGRAM = "histogram"

#: shape bias overall, and per category as ``shape_bias_<category>`` or ``details["per_category"]``
SHAPE_BIAS = "shape_bias"
SHAPE_BIAS_CATEGORY = re.compile(r"shape_bias_(?P<category>[a-z0-9_]+)")

#: accuracy per level of a visual factor (FactorWorld's exact labels): ``top1[<factor>=<level>]``, with
#: ``details["error_ratio"]``; ImageNet-X breakdowns come from the analysis in PROVIDERS["imagenet_x"]
FACTOR_ACCURACY = re.compile(r"top1\[(?P<factor>[^=\]]+)=(?P<level>[^\]]*)\]")

#: corruptions: the on-the-fly shift and the benchmark of released ImageNet-C JPEGs
CORRUPTION_SHIFT = "corruption"
IMAGENET_C = ("imagenet_c", "imagenet")

#: the population of the fallback effective-robustness fit (when the analysis module is absent): supervised
#: classifiers trained on the in-distribution set alone, as Taori et al.'s "standard" models (model_info fields;
#: the training data comes from the in-distribution benchmark's ``training_set``, see :func:`er_baseline`)
ER_BASELINE = {"kind": "fixed_head", "training_data": "ImageNet-1k"}

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

#: labels of metrics in tables and axes
LABELS = {
    "top1": "top-1",
    "top5": "top-5",
    "mean_per_class_recall": "mean per-class recall",
    "ece": "ECE",
    "ece_adaptive": "adaptive ECE",
    "mce": "MCE",
    "nll": "NLL",
    "brier": "Brier",
    "temperature": "temperature",
    "shape_bias": "shape bias",
    "auroc": "AUROC",
    "aupr_in": "AUPR-in",
    "aupr_out": "AUPR-out",
    "fpr95": "FPR@95TPR",
    "msp": "MSP",
    "maxlogit": "max-logit",
    "energy": "energy",
    "mcm": "MCM",
    "glmcm": "GL-MCM",
}

#: analyses that other modules provide, as "module:function"; a missing module (or one that fails on this store)
#: leaves the matching parts out, with a note on the page
PROVIDERS = {
    # (records) -> [CorruptionSummary(model, prompts, benchmark, ce, relative_ce, mce, relative_mce, comparable, notes)]
    "corruption_summary": "zeroshift.reports.corruption:corruption_summary",
    # (records, baseline=...) -> EffectiveRobustnessReport(fits=[ShiftFit(shift, population, fit)], rows, notes, ...)
    "effective_robustness": "zeroshift.reports.effective_robustness:analyze_effective_robustness",
    # (shift, baseline) -> (names, acc_id, acc_shift) of the published baseline population
    "er_population": "zeroshift.reports.effective_robustness:baseline_points",
    # (folder of human-response CSVs) -> HumanReference(shape_bias, per_category, n_subjects, ...)
    "human_shape_bias": "zeroshift.reports.shape_bias:human_reference",
    # (store, annotations folder) -> [FactorBreakdown(record, rows=[FactorRow(factor, n, error_ratio, ...)], ...)]
    "imagenet_x": "zeroshift.reports.imagenet_x:analyze_imagenet_x",
}

#: the baseline population of the published effective-robustness analysis drawn in the report
ER_PUBLISHED_BASELINE = "testbed"


def label(name: str) -> str:
    """A readable label of a metric name (``energy_fpr95`` -> ``energy FPR@95TPR``)."""
    if name in LABELS:
        return LABELS[name]
    ood = ood_metric(name)
    if ood:
        return f"{LABELS.get(ood[0], ood[0])} {LABELS.get(ood[1], ood[1])}"
    if name.endswith(TS_SUFFIX) and name[: -len(TS_SUFFIX)] in LABELS:
        return f"{LABELS[name[: -len(TS_SUFFIX)]]} (after TS)"
    return name.replace("_", " ")


def ood_metric(name: str) -> tuple[str, str] | None:
    """``(score, metric)`` of an OOD metric name, else None."""
    m = OOD_PATTERN.fullmatch(name)
    return (m.group(1), m.group(2)) if m else None


@functools.lru_cache(maxsize=4096)
def corruption_of(benchmark: str, shift: str | None) -> tuple[str, str, int] | None:
    """``(clean benchmark, corruption, severity)`` of a corrupted condition, else None."""
    try:
        if shift is not None:
            call = CallSpec.parse(shift)
            if call.name == CORRUPTION_SHIFT:
                return benchmark, str(call.kwargs["name"]), int(call.kwargs["severity"])
            return None
        call = CallSpec.parse(benchmark)
        if call.name == IMAGENET_C[0]:
            return IMAGENET_C[1], str(call.kwargs.get("corruption")), int(call.kwargs.get("severity", 0))
    except Exception:  # a spec the report cannot read is not a corruption
        return None
    return None


@functools.lru_cache(maxsize=1024)
def er_baseline(benchmark: str) -> dict[str, str]:
    """The model_info fields of the effective-robustness baseline population for shifts away from ``benchmark``.

    Example:
        >>> er_baseline("factorworld(n=100)")["training_data"], er_baseline("imagenet")["training_data"]
        ('FactorWorld-narrow', 'ImageNet-1k')

    """
    try:
        from zeroshift.data import benchmarks

        training_set = benchmarks.get(CallSpec.parse(benchmark).name).training_set
    except Exception:  # unknown or unreadable benchmark: the ImageNet population
        training_set = None
    return {**ER_BASELINE, **({"training_data": training_set} if training_set else {})}


def in_distribution_of(benchmark: str) -> str | None:
    """The name of the benchmark that ``benchmark`` is a distribution shift of (the Benchmark's
    ``in_distribution``), or None for an in-distribution benchmark or one the registry does not know.
    """
    try:
        from zeroshift.data import benchmarks

        name = CallSpec.parse(benchmark).name
        target = benchmarks.get(name).in_distribution
        target_name = CallSpec.parse(target).name if target else None
    except Exception:  # unknown or unreadable benchmark: no pairing
        return None
    return target_name if target_name and target_name != name else None


def provider(name: str) -> Callable[..., Any] | None:
    """The function of :data:`PROVIDERS` called ``name``, or None when its module is not installed."""
    module, _, attr = PROVIDERS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def call_provider(name: str, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Call an analysis of :data:`PROVIDERS`: ``(result, "")``, or ``(None, why not)`` when it is not installed or
    cannot place this store (its error message, on one line).

    Example:
        >>> call_provider("corruption_summary", [])[0] in ([], None)
        True

    """
    fn = provider(name)
    if fn is None:
        return None, f"{PROVIDERS[name].partition(':')[0]} is not installed"
    try:
        return fn(*args, **kwargs), ""
    except Exception as err:  # an analysis that cannot place this store must not break the page
        return None, f"{PROVIDERS[name]}: " + " ".join(str(err).split())
