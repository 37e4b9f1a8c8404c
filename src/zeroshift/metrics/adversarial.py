"""Metric groups of adversarial robustness: ``adversarial`` (attack runs) and ``min_epsilon`` (clean runs).

``adversarial`` runs under an attack shift (``--shift "pgd(eps='4/255')"``; the shift adds it to the defaults).
Robust accuracy is the ``accuracy`` group's ``top1`` of that run; this group adds, on the samples read both clean
and attacked:

* ``clean_top1``;
* ``accuracy_drop``: clean top-1 minus robust top-1 (paired);
* ``attack_success_rate``: untargeted, the fraction of clean-correct samples the attack makes wrong; targeted, the
  fraction classified as the target.

``min_epsilon`` reads, per image, the smallest radius at which an attack succeeds (Wang et al. 2024 report the
median): ``min_epsilon_median`` with a bootstrap interval, 0 for images already misclassified, and images that
resist even ``eps_max`` counted as above it. The median is the lower median, the smallest radius that flips at
least half the images (:func:`censored_median`); when more than half resist it is censored at ``eps_max``, and
said so. The radii
are the ``min_epsilon`` artefact (:mod:`zeroshift.artefacts.min_epsilon`): the engine runs the bisection and caches
it under the model, the head, the label space, the attack spec, the search settings and the seed, so a second
analysis attacks nothing. Parameters (``--metric-param min_epsilon.KEY=V``):
``attack`` (an attack spec whose ``eps`` is searched, default ``"pgd(norm='linf', steps=10)"``), ``eps_max``
(default ``'16/255'``) and ``search_steps`` (bisection steps, default 8: resolution ``eps_max / 256``).

Example:
    >>> censored_median(np.array([0.0, 0.01, np.inf]), eps_max=0.1)
    (0.01, False)
    >>> censored_median(np.array([0.0, np.inf, np.inf]), eps_max=0.1)
    (0.1, True)

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, metric_group
from zeroshift.metrics.paired import paired_with_clean
from zeroshift.params import Param
from zeroshift.shifts.search import DEFAULTS as MIN_EPS_DEFAULTS
from zeroshift.shifts.search import epsilon_search


def needs_attack_shift(benchmark: Any, shift: Any) -> None:
    """The ``adversarial`` group's check: it compares an attack run with its clean run, so it needs an attack.

    Example:
        >>> needs_attack_shift(None, None)
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the adversarial metric group needs an attack shift, e.g. --shift "pgd(eps='4/255')"

    """
    if shift is None or shift.kind != "attack":
        raise UsageError("the adversarial metric group needs an attack shift, e.g. --shift \"pgd(eps='4/255')\"")


@metric_group(
    "adversarial",
    metrics=(
        MetricSpec("clean_top1", "clean top-1", True, "top-1 of the same samples without the attack"),
        MetricSpec("accuracy_drop", "accuracy drop", False, "clean top-1 minus robust top-1, paired"),
        MetricSpec("attack_success_rate", "attack success rate", False, "clean-correct samples the attack flips"),
    ),
    needs=(Need("clean"),),
    check=needs_attack_shift,
)
def adversarial_group(inputs: Any, params: Params) -> GroupResult:
    """Clean top-1, accuracy drop and attack success rate of an attack run (see the module docstring).

    Example:
        >>> # computed for every run under an attack shift: zeroshift run ... --shift "pgd(eps='4/255')"
        >>> from zeroshift.metrics import groups
        >>> groups.get("adversarial") is adversarial_group
        True

    """
    outputs = inputs.outputs
    needs_attack_shift(inputs.benchmark, inputs.shift)
    settings = params.bootstrap
    paired = paired_with_clean(outputs, inputs)
    n = int(paired.rows.size)
    values = [
        mean_with_ci(paired.clean_correct, "clean_top1", True, settings, {"n": n}),
        mean_with_ci(
            paired.clean_correct.astype(np.float64) - paired.correct,
            "accuracy_drop",
            False,
            settings,
            {"n": n, "definition": "clean top-1 minus robust top-1, same samples"},
        ),
    ]
    columns: dict[str, list[Any]] = {}
    rows = inputs.shift_params()
    if rows is None:
        base = paired.clean_correct
        hits = ~paired.correct[base]
        definition = "fraction of clean-correct samples misclassified under attack"
    else:
        targets = np.asarray([p["target"] for p in rows], dtype=np.int64)[outputs.indices][paired.rows]
        hits = paired.pred == targets
        definition = "fraction of samples classified as their target"
        columns["attack_target"] = np.asarray([p["target"] for p in rows])[outputs.indices].tolist()
    values.append(
        mean_with_ci(hits, "attack_success_rate", False, settings, {"n": int(hits.size), "definition": definition})
    )
    protocol = {
        "adversarial_metrics": {
            "robust_accuracy": "top1 of this run (accuracy group)",
            "attack_success_rate": definition,
            "accuracy_drop": "paired: mean over samples of (clean correct - robust correct)",
        }
    }
    return GroupResult(values, protocol, columns)


#: how :func:`censored_median` defines the median of radii censored at ``eps_max`` (for the record)
CENSORED_MEDIAN_RULE = (
    "lower median: the smallest radius at which at least half the images are flipped (the inverse empirical CDF "
    "at 0.5, numpy's quantile method 'inverted_cdf'; the middle value for an odd count, the lower of the two "
    "middle values for an even one); images that resist eps_max sort above every radius; censored (reported as "
    "eps_max, a lower bound) when that order statistic is one of them, i.e. fewer than half flip at eps_max; "
    "bootstrap replicates use the same definition"
)


def censored_median(eps: np.ndarray, eps_max: float) -> tuple[float, bool]:
    """The median minimal radius, with images that resisted ``eps_max`` (``inf``) counted above every radius.

    The median is the lower median, the smallest radius at which at least half the images are flipped
    (:data:`CENSORED_MEDIAN_RULE`): an order statistic, so it never averages a measured radius with a censored
    one. Returns ``(median, censored)``; when that order statistic is censored (fewer than half the images flip
    at ``eps_max``) the median is only known to be at least ``eps_max``, and ``(eps_max, True)`` is returned.
    An empty sample gives ``(nan, False)``.

    Example:
        >>> censored_median(np.array([0.01, np.inf]), 16 / 255)  # half flip at 0.01
        (0.01, False)
        >>> censored_median(np.array([0.01, np.inf, np.inf]), 0.1)
        (0.1, True)
        >>> censored_median(np.array([0.03, 0.01, 0.02, 0.04]), 0.1)  # even count: the lower middle value
        (0.02, False)

    """
    values = np.asarray(eps, dtype=np.float64)
    if values.size == 0:
        return float("nan"), False
    k = (values.size - 1) // 2  # 0-based position of the lower median
    median = float(np.partition(values, k)[k])
    if not median <= eps_max:  # inf: resisted the largest radius searched
        return float(eps_max), True
    return median, False


def not_under_attack(benchmark: Any, shift: Any) -> None:
    """The ``min_epsilon`` group's check: it searches its own radius, so it runs on a clean (or pixel-shifted) run.

    Example:
        >>> from zeroshift.shifts import make_shift
        >>> not_under_attack(None, make_shift("pgd(eps=0.01)"))
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: min_epsilon searches its own attack radius: run it without an attack --shift

    """
    if shift is not None and shift.kind == "attack":
        raise UsageError("min_epsilon searches its own attack radius: run it without an attack --shift")


def _search_params(params: Params) -> dict[str, Any]:
    return {"attack": params.attack, "eps_max": params.eps_max, "search_steps": params.search_steps}


def _validate_search(params: Params) -> None:
    epsilon_search(params.attack, params.eps_max, params.search_steps)


def check_min_epsilon_params(**params: Any) -> None:
    """Raise SpecError for bad ``min_epsilon`` parameters (the CLI calls this before any work).

    Example:
        >>> check_min_epsilon_params(search_steps=0)
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: min_epsilon: search_steps must be an integer from 1 to 30, got 0

    """
    min_epsilon_group.check_params(**params)


@metric_group(
    "min_epsilon",
    metrics=(
        MetricSpec("min_epsilon_median", "median minimal epsilon", True, "median per-image radius that flips it"),
        MetricSpec("resisted_eps_max", "resisted eps_max", True, "fraction of images the attack cannot flip"),
    ),
    params={
        "attack": Param(MIN_EPS_DEFAULTS["attack"], "the attack whose eps is searched (fgsm, pgd, apgd)"),
        "eps_max": Param(MIN_EPS_DEFAULTS["eps_max"], "the largest radius tried ([0, 1] pixel units or 'k/255')"),
        "search_steps": Param(MIN_EPS_DEFAULTS["search_steps"], "bisection steps (resolution eps_max / 2**steps)"),
    },
    needs=lambda p: (Need(None, frozenset({"min_epsilon"}), {"min_epsilon": _search_params(p)}),),
    check=not_under_attack,
    validate=_validate_search,
)
def min_epsilon_group(inputs: Any, params: Params) -> GroupResult:
    """The median per-image minimal attack radius (see the module docstring).

    Example:
        >>> # zeroshift run -m MODEL -b imagenet --metrics accuracy --metrics min_epsilon
        >>> #     --metric-param "min_epsilon.attack=pgd(steps=20)" --metric-param min_epsilon.eps_max=8/255
        >>> check_min_epsilon_params(attack="apgd(steps=50)", eps_max="8/255")

    """
    not_under_attack(inputs.benchmark, inputs.shift)
    outputs = inputs.outputs
    search = epsilon_search(params.attack, params.eps_max, params.search_steps)
    radius = search.eps_max
    settings = params.bootstrap
    found = inputs.artefact("min_epsilon", **_search_params(params))
    eps_all = found.rows[:, 0].numpy().astype(np.float64) if len(found) else np.zeros(0)
    median, censored = censored_median(eps_all, radius)
    lo, hi = bootstrap_ci(
        lambda idx: censored_median(eps_all[idx], radius)[0],
        eps_all.size,
        settings["n_boot"],
        settings["alpha"],
        settings["seed"],
    )
    resisted = ~np.isfinite(eps_all)
    details = {
        **search.record,
        "n": int(eps_all.size),
        "n_already_wrong": int((eps_all == 0).sum()),
        "n_resisted_eps_max": int(resisted.sum()),
        "censored": censored,
        "median_in_255ths": round(median * 255, 4),
        "units": "[0, 1] pixel units",
    }
    if censored:
        details["note"] = "more than half the images resisted eps_max: the median is at least eps_max"
    by_id = found.by_id()
    values = [MetricValue("min_epsilon_median", median, True, lo, hi, details)]
    values.append(
        mean_with_ci(
            resisted,
            "resisted_eps_max",
            True,
            settings,
            {"definition": "fraction of images the attack cannot flip at eps_max", "eps_max": radius},
        )
    )
    return GroupResult(
        values,
        {"min_epsilon": {**found.protocol, "median": CENSORED_MEDIAN_RULE}},
        {"min_epsilon": [by_id.get(sid) for sid in outputs.sample_ids]},
    )
