"""Findings: the questions of the studies zeroshift implements, answered in plain sentences from the store.

Each function answers one question from the records (through the same analyses the sections draw) and returns
:class:`Finding` s: a sentence with its number and interval, whether the evidence is significant (and the
sentence says so when it is not), and the id of the figure that shows it (the page links the sentence to it).
The list is open: a report section contributes its sentences by declaring a ``findings(data)`` method (the
sections of the questions below call these functions), and :func:`findings` asks every section the store can build,
in page order; a new perspective never edits this module.

=====================  ==========================================================================================
question               computation
=====================  ==========================================================================================
effective robustness   each model's distance to the baseline trend on each distribution shift, with its interval
                       (the effective-robustness section's analysis); above / below when the interval excludes 0
calibration            ECE before and after temperature scaling, in distribution and under shift, averaged per
                       model and then over the zero-shot and the supervised (fixed-head) models; intervals are
                       percentile bootstraps over models (three or more), and the zero-shot minus supervised
                       difference resamples the models of each group independently
OOD vs accuracy        Spearman's rank correlation across models between in-distribution top-1 and OOD AUROC,
                       with a percentile bootstrap over models (pairs resampled together); four models or more
shape bias             each model's shape bias and interval against the human observers' value (when given)
visual factors         the factor levels with the largest mean error ratio; significant for a model when the
                       level's top-1 interval lies below the model's overall top-1
six factors            per headline metric, the factor whose group means span the widest range, with an exact
                       (or Monte-Carlo) permutation p-value: how often shuffling the models over the groups spans
                       a range at least as wide
=====================  ==========================================================================================

Example:
    >>> from zeroshift.results import RunRecord
    >>> from zeroshift.metrics import MetricValue
    >>> recs = [RunRecord.new(model=f"zoo:m{i}", benchmark="b", shift=None, prompts="simple", label_space="full",
    ...                       metrics=[MetricValue("top1", 0.5, True)]) for i in range(2)]
    >>> findings(ReportData(recs))
    []
    >>> round(spearman([1, 2, 3, 4], [1, 3, 2, 4]), 6)
    0.8

"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from zeroshift.core.numeric import finite
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, _percentile_interval, _resample_blocks, bootstrap_ci
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, Entry, ReportData
from zeroshift.reports.html.svg import fmt

#: at least this many models for an interval over models, and for a correlation across models
MIN_MODELS_INTERVAL = 3
MIN_MODELS_CORRELATION = 4
#: significance level of every sentence
ALPHA = DEFAULT_BOOTSTRAP["alpha"]
#: bootstrap resamples over models, and permutations of the six-factor test
N_BOOT = 2000
N_PERMUTATIONS = 10_000
SEED = 0


@dataclass
class Finding:
    """One sentence of the findings list.

    Attributes:
        question: which question it answers (``effective_robustness``, ``calibration``, ``ood``, ``shape_bias``,
            ``factors``, ``six_factors``; a section's own findings use the section's name).
        text: the plain sentence, numbers and intervals included.
        figure: id of the figure that shows the evidence (the page links the sentence to it).
        value: the headline number.
        interval: its 95% interval, when there is one.
        significant: whether the evidence is significant at the 5% level (None: not assessed).
        details: everything else the sentence rests on (written to ``findings.json``).

    """

    question: str
    text: str
    figure: str | None = None
    value: float | None = None
    interval: tuple[float, float] | None = None
    significant: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "question": self.question,
            "text": self.text,
            "figure": self.figure,
            "value": finite(self.value),
            "ci_low": finite(self.interval[0]) if self.interval else None,
            "ci_high": finite(self.interval[1]) if self.interval else None,
            "significant": self.significant,
            **self.details,
        }


# --- statistics -------------------------------------------------------------------------------------------------


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def correlation_with_interval(
    x: Sequence[float], y: Sequence[float], n_boot: int = N_BOOT, seed: int = SEED
) -> tuple[float, float, float]:
    """Spearman's rho of paired values and its percentile bootstrap interval (pairs resampled together).

    Example:
        >>> rho, lo, hi = correlation_with_interval([0.1, 0.2, 0.3, 0.4, 0.5], [0.2, 0.3, 0.5, 0.4, 0.6])
        >>> round(rho, 3), lo <= rho <= hi
        (0.9, True)

    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rho = spearman(xa, ya)
    if len(xa) < 2 or n_boot <= 0:
        return rho, float("nan"), float("nan")
    # bootstrap_ci's resamples (the same generator and blocks), with every replicate's rho computed at once
    reps = np.concatenate([_spearman_rows(xa[idx], ya[idx]) for idx in _resample_blocks(len(xa), n_boot, seed)])
    lo, hi = _percentile_interval(reps, ALPHA)
    return rho, lo, hi


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`spearman` of each row pair (average ranks for ties; NaN where a row is constant)."""
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def mean_with_interval(values: Sequence[float], n_boot: int = N_BOOT, seed: int = SEED) -> tuple[float, float, float]:
    """Mean of per-model values and its percentile bootstrap interval over models (NaN with too few models)."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean()) if v.size else float("nan")
    if v.size < MIN_MODELS_INTERVAL:
        return mean, float("nan"), float("nan")
    lo, hi = bootstrap_ci(lambda idx: float(v[idx].mean()), v.size, n_boot, ALPHA, seed)
    return mean, lo, hi


def difference_with_interval(
    a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, seed: int = SEED
) -> tuple[float, float, float]:
    """mean(a) - mean(b) with a percentile bootstrap that resamples each group's models independently."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = float(va.mean() - vb.mean()) if va.size and vb.size else float("nan")
    if min(va.size, vb.size) < MIN_MODELS_INTERVAL:
        return diff, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, va.size, size=(n_boot, va.size))
    ib = rng.integers(0, vb.size, size=(n_boot, vb.size))
    reps = va[ia].mean(axis=1) - vb[ib].mean(axis=1)
    return diff, float(np.quantile(reps, ALPHA / 2)), float(np.quantile(reps, 1 - ALPHA / 2))


def group_range(values: Sequence[float], labels: Sequence[Any]) -> float:
    """The range (max - min) of the group means."""
    v = np.asarray(values, dtype=np.float64)
    keys = list(dict.fromkeys(labels))
    lab = np.asarray([keys.index(g) for g in labels])
    means = [v[lab == k].mean() for k in range(len(keys))]
    return float(max(means) - min(means))


def range_permutation_p(
    values: Sequence[float], labels: Sequence[Any], n_permutations: int = N_PERMUTATIONS, seed: int = SEED
) -> tuple[float, bool]:
    """P-value of the range of group means under random assignment of the models to the groups (group sizes kept).

    Exact (every distinct assignment) when there are at most ``n_permutations`` of them, else Monte Carlo with
    ``(1 + hits) / (1 + n)``. Returns ``(p, exact)``.
    """
    v = np.asarray(values, dtype=np.float64)
    keys = list(dict.fromkeys(labels))
    lab = np.asarray([keys.index(g) for g in labels])
    observed = group_range(v, lab) - 1e-12
    sizes = [int((lab == k).sum()) for k in range(len(keys))]
    n = len(v)
    count = math.factorial(n)
    for s in sizes:
        count //= math.factorial(s)
    if count <= n_permutations:
        ranges = _ranges(v, np.stack(list(_assignments(n, sizes))), len(sizes))
        return float(np.mean(ranges >= observed)), True
    rng = np.random.default_rng(seed)
    ranges = _ranges(v, np.stack([rng.permutation(lab) for _ in range(n_permutations)]), len(sizes))
    return (1 + int(np.sum(ranges >= observed))) / (1 + n_permutations), False


def _ranges(v: np.ndarray, assignments: np.ndarray, n_groups: int) -> np.ndarray:
    """The range of the group means of ``v`` under each row of ``assignments`` (group labels 0..n_groups-1)."""
    onehot = assignments[:, :, None] == np.arange(n_groups)
    means = np.einsum("mnk,n->mk", onehot, v) / onehot.sum(axis=1)
    return means.max(axis=1) - means.min(axis=1)


def _assignments(n: int, sizes: list[int]) -> Any:
    """Every distinct way to put ``n`` items into groups of the given sizes (as label arrays)."""

    def rec(free: tuple[int, ...], k: int) -> Any:
        if k == len(sizes) - 1:
            yield {i: k for i in free}
            return
        for chosen in itertools.combinations(free, sizes[k]):
            rest = tuple(i for i in free if i not in chosen)
            for tail in rec(rest, k + 1):
                yield {**{i: k for i in chosen}, **tail}

    for mapping in rec(tuple(range(n)), 0):
        yield np.asarray([mapping[i] for i in range(n)])


def _interval_text(lo: float | None, hi: float | None) -> str:
    return f" [{fmt(lo)}, {fmt(hi)}]" if finite(lo) is not None and finite(hi) is not None else ""


def _signed(v: float) -> str:
    return f"{v:+.3f}"


def _models(n: int) -> str:
    return f"{n} model{'s' if n != 1 else ''}"


# --- the questions ----------------------------------------------------------------------------------------------


def effective_robustness(data: ReportData) -> list[Finding]:
    """Which models sit above (or below) the effective-robustness trend on which distribution shift."""
    from zeroshift.reports.html.sections.effective_robustness import EffectiveRobustnessSection, figure_id

    section = EffectiveRobustnessSection()
    if not section.available(data):
        return []
    out: list[Finding] = []
    no_trend: list[Any] = []
    for plot in section.analyse(data)[0]:
        points = [p for p in plot.points if not p.in_population and finite(p.er) is not None]
        if plot.trend is None:
            no_trend.append(plot)
            continue
        if not points:
            continue
        above = [p for p in points if finite(p.er_low) is not None and p.er_low > 0]
        below = [p for p in points if finite(p.er_high) is not None and p.er_high < 0]
        unsure = [p for p in points if p not in above and p not in below]

        def listed(ps: list[Any]) -> str:
            ps = sorted(ps, key=lambda p: -p.er)
            return ", ".join(f"{p.entry.label} ({_signed(p.er)}{_interval_text(p.er_low, p.er_high)})" for p in ps)

        def sits(ps: list[Any]) -> str:
            return "sits" if len(ps) == 1 else "sit"

        parts = []
        if above:
            parts.append(f"{listed(above)} {sits(above)} above the trend")
        if below:
            parts.append(f"{listed(below)} {sits(below)} below it")
        if unsure:
            top = max(unsure, key=lambda p: abs(p.er))
            largest = f"{top.entry.label} {_signed(top.er)}{_interval_text(top.er_low, top.er_high)}"
            if (above or below) and len(unsure) == 1:
                parts.append(f"{largest} is not significantly off it")
            elif above or below:
                parts.append(f"the other {len(unsure)} are not significantly off it (largest: {largest})")
            else:
                parts.append(f"none of the {len(unsure)} models is significantly off the trend (largest: {largest})")
        best = max(points, key=lambda p: p.er)
        out.append(
            Finding(
                "effective_robustness",
                f"{plot.label}: " + "; ".join(parts) + f" (effective robustness against the trend of "
                f"{plot.trend.source}).",
                figure_id(plot),
                best.er,
                (best.er_low, best.er_high) if finite(best.er_low) is not None else None,
                bool(above or below),
                {
                    "shift": plot.label,
                    "above": [p.entry.label for p in above],
                    "below": [p.entry.label for p in below],
                    "not_significant": [p.entry.label for p in unsure],
                },
            )
        )
    if no_trend:
        why = sorted({n.rstrip(".").removeprefix("No baseline trend: ") for p in no_trend for n in p.notes[:1]})
        why = why or ["no baseline population"]
        shifts = ", ".join(p.label for p in no_trend)
        out.append(
            Finding(
                "effective_robustness",
                f"No effective robustness on {shifts}: there is no baseline trend to measure it against ("
                + "; ".join(w[0].lower() + w[1:] for w in why)
                + ").",
                figure_id(no_trend[0]),
                details={"shifts": [p.label for p in no_trend]},
            )
        )
    return out


_GROUPS = (("zero_shot", "zero-shot (CLIP-style) models"), ("fixed_head", "supervised (fixed-head) models"))


def _per_model_mean(data: ReportData, entries: list[Entry], conditions: list[Condition], name: str) -> list[float]:
    out = []
    for e in entries:
        vals = [
            m.value for c in conditions if (m := data.metric(e, c, name)) is not None and finite(m.value) is not None
        ]
        if vals:
            out.append(float(np.mean(vals)))
    return out


def calibration(data: ReportData) -> list[Finding]:
    """ECE before and after temperature scaling, in distribution and under shift, zero-shot against supervised."""
    conds = data.conditions_with(M.RELIABILITY)
    in_dist = [c for c in conds if c.kind == "in_distribution"]
    shifted = [c for c in conds if c.kind != "in_distribution" and c.in_distribution is not None]
    if not in_dist:
        return []
    from zeroshift.reports.html.sections.six_factors import members

    models = members(data, "family")  # one entry per model
    out: list[Finding] = []
    id_values: dict[str, list[float]] = {}
    for kind, title in _GROUPS:
        entries = [e for e in models if e.info.get("kind") == kind]
        if not entries:
            continue
        parts, details = [], {}
        first: tuple[float, float, float] | None = None
        for where, cs in (("in distribution", in_dist), ("under shift", shifted)):
            if not cs:
                continue
            before = _per_model_mean(data, entries, cs, M.RELIABILITY)
            after = _per_model_mean(data, entries, cs, M.RELIABILITY + M.TS_SUFFIX)
            if not before:
                continue
            b = mean_with_interval(before)
            text_ = f"ECE {fmt(b[0])}{_interval_text(b[1], b[2])} {where}"
            if after:
                a = mean_with_interval(after)
                text_ += f" and {fmt(a[0])}{_interval_text(a[1], a[2])} after temperature scaling"
                details[f"ece_ts_{where.replace(' ', '_')}"] = a[0]
            parts.append(text_)
            details[f"ece_{where.replace(' ', '_')}"] = b[0]
            if where == "in distribution":
                id_values[kind] = before
                first = b
        if not parts or first is None:
            continue
        n = len(id_values.get(kind, []))
        note = (
            "" if n >= MIN_MODELS_INTERVAL else f" (fewer than {MIN_MODELS_INTERVAL} models: no interval over models)"
        )
        out.append(
            Finding(
                "calibration",
                f"{title[0].upper()}{title[1:]} ({n}): " + "; ".join(parts) + note + ".",
                "calibration-ece",
                first[0],
                (first[1], first[2]) if finite(first[1]) is not None else None,
                None,
                {"group": kind, "n_models": n, **details},
            )
        )
    if "zero_shot" in id_values and "fixed_head" in id_values:
        diff, lo, hi = difference_with_interval(id_values["zero_shot"], id_values["fixed_head"])
        if finite(lo) is None:
            verdict = "not tested (fewer than 3 models in a group)"
            significant = None
        else:
            significant = bool(lo > 0 or hi < 0)
            verdict = (
                ("zero-shot models are worse calibrated" if diff > 0 else "zero-shot models are better calibrated")
                if significant
                else "not significant"
            )
        out.append(
            Finding(
                "calibration",
                f"In distribution, zero-shot minus supervised ECE is {_signed(diff)}{_interval_text(lo, hi)}"
                + (f", {verdict}." if significant is None else f": {verdict}."),
                "calibration-ece",
                diff,
                (lo, hi) if finite(lo) is not None else None,
                significant,
                {"comparison": "zero_shot - fixed_head", "interval": "bootstrap over models, groups independently"},
            )
        )
    return out


def ood(data: ReportData) -> list[Finding]:
    """Whether OOD detection (AUROC) tracks in-distribution top-1 across models, per OOD set."""
    from zeroshift.reports.html.sections.common import in_distribution
    from zeroshift.reports.html.sections.ood import ood_vs_accuracy

    out = []
    for c in data.conditions:
        if c.kind != "ood":
            continue
        pairs = ood_vs_accuracy(data, c)
        if pairs is None:
            continue
        score, points, fig = pairs
        ref = in_distribution(data, c)
        x = [p[1] for p in points]
        y = [p[2] for p in points]
        label = f"OOD detection of {c.label} ({M.label(score + '_auroc')}) against top-1 on {ref.label if ref else '?'}"
        if len(points) < MIN_MODELS_CORRELATION:
            out.append(
                Finding(
                    "ood",
                    f"{label}: {_models(len(points))}, too few for a correlation across models (needs "
                    f"{MIN_MODELS_CORRELATION}).",
                    fig,
                    None,
                    None,
                    None,
                    {"n_models": len(points), "score": score},
                )
            )
            continue
        rho, lo, hi = correlation_with_interval(x, y)
        significant = finite(lo) is not None and (lo > 0 or hi < 0)
        verdict = (
            ("it tracks accuracy" if rho > 0 else "it runs against accuracy")
            if significant
            else "not significant: no evidence that it tracks accuracy"
        )
        out.append(
            Finding(
                "ood",
                f"{label}: Spearman's rho = {rho:.2f}{_interval_text(lo, hi)} across {_models(len(points))}; "
                f"{verdict}.",
                fig,
                rho,
                (lo, hi),
                bool(significant),
                {"n_models": len(points), "score": score, "correlation": "spearman", "interval": "bootstrap"},
            )
        )
    return out


def shape_bias(data: ReportData) -> list[Finding]:
    """Shape bias of the models against the human observers' (when their responses were given)."""
    from zeroshift.reports.html.sections.shape_bias import human_reference

    found = [(e, c, cell.value) for e, c, _, cell in data.cells(M.SHAPE_BIAS) if finite(cell.value.value) is not None]
    if not found:
        return []
    human, why = human_reference(data)
    out = []
    for c in list(dict.fromkeys(c for _, c, _ in found)):
        here = sorted([(e, m) for e, c2, m in found if c2 == c], key=lambda t: -t[1].value)
        hi_e, hi_m = here[0]
        lo_e, lo_m = here[-1]
        text_ = (
            f"Shape bias on {c.label}: from {lo_e.label} {fmt(lo_m.value)}{_interval_text(lo_m.ci_low, lo_m.ci_high)}"
        )
        text_ += f" to {hi_e.label} {fmt(hi_m.value)}{_interval_text(hi_m.ci_low, hi_m.ci_high)}"
        significant = None
        details: dict[str, Any] = {"condition": c.label, "n_models": len(here)}
        if human is not None:
            h = float(human.shape_bias)
            below = [e for e, m in here if finite(m.ci_high) is not None and m.ci_high < h]
            above = [e for e, m in here if finite(m.ci_low) is not None and m.ci_low > h]
            text_ += f"; humans {fmt(h)}: {len(below)} of {len(here)} models are significantly less shape-biased"
            if above:
                text_ += f", {len(above)} significantly more"
            unsure = len(here) - len(below) - len(above)
            if unsure:
                text_ += f", {unsure} not significantly different"
            significant = bool(below or above)
            details.update(human=h, below_humans=[e.label for e in below], above_humans=[e.label for e in above])
        else:
            text_ += f" (no human reference: {why})"
        out.append(
            Finding(
                "shape_bias",
                text_ + ".",
                "shape-bias",
                hi_m.value,
                (hi_m.ci_low, hi_m.ci_high) if finite(hi_m.ci_low) is not None else None,
                significant,
                details,
            )
        )
    return out


def visual_factors(data: ReportData, top: int = 3) -> list[Finding]:
    """The factor levels with the largest error ratios (FactorWorld levels; ImageNet-X when given)."""
    from zeroshift.reports.html.sections.factors import figure_id, imagenet_x

    out = []
    found = data.cells(M.factor_pattern())
    by_condition: dict[Condition, list[tuple[Entry, str, Any]]] = {}
    for e, c, n, cell in found:
        by_condition.setdefault(c, []).append((e, n, cell))
    if by_condition:
        # the condition that varies the most factor levels (the per-factor split, where there is one)
        c = max(
            by_condition,
            key=lambda k: (k.kind == "diagnostic", len({n for _, n, _ in by_condition[k]}), -k.sort_key[2]),
        )
        levels: dict[str, list[tuple[float, bool]]] = {}
        for _e, n, cell in by_condition[c]:
            ratio = finite(cell.value.details.get("error_ratio"))
            overall = finite(cell.value.details.get("overall_top1"))
            if ratio is None:
                continue
            worse = overall is not None and finite(cell.value.ci_high) is not None and cell.value.ci_high < overall
            factor, level = M.factor_of(n)  # type: ignore[misc]
            levels.setdefault(f"{factor} = {level}", []).append((ratio, bool(worse)))
        ranked = sorted(levels.items(), key=lambda kv: -float(np.mean([r for r, _ in kv[1]])))[:top]
        if ranked:
            bits = []
            for name, vals in ranked:
                mean = float(np.mean([r for r, _ in vals]))
                sig = sum(w for _, w in vals)
                where = "none" if not sig else "all" if sig == len(vals) else str(sig)
                bits.append(f"{name} (error ratio {mean:.2f}, mean over {_models(len(vals))}; significant for {where})")
            best = ranked[0][1]
            out.append(
                Finding(
                    "factors",
                    f"On {c.label}, the factor levels that hurt most are "
                    + "; ".join(bits)
                    + " (significant: the level's top-1 interval lies below the model's overall top-1).",
                    figure_id(c),
                    float(np.mean([r for r, _ in best])),
                    None,
                    any(w for _, w in best),
                    {"condition": c.label, "levels": [name for name, _ in ranked]},
                )
            )
    breakdowns, _ = imagenet_x(data)
    ratios: dict[str, list[float]] = {}
    for b in breakdowns:
        for r in b.rows:
            if finite(r.error_ratio) is not None:
                ratios.setdefault(r.factor, []).append(float(r.error_ratio))
    if ratios:
        worst = sorted(ratios.items(), key=lambda kv: -float(np.mean(kv[1])))[:top]
        bits = [f"{f} ({float(np.mean(v)):.2f}, {_models(len(v))})" for f, v in worst]
        out.append(
            Finding(
                "factors",
                "On ImageNet-X, the factors with the largest mean error ratio are " + "; ".join(bits) + ".",
                "factors-imagenet-x",
                float(np.mean(worst[0][1])),
                None,
                None,
                {"factors": [f for f, _ in worst]},
            )
        )
    return out


@dataclass(frozen=True)
class Headline:
    """A metric the six-factor question is asked of: its key, readable name and per-entry value.

    ``prompt_free``: the prompt set cannot change it (the prompt-set factor is not asked of it); ``metric`` and
    ``condition``: the metric name and the condition it is read on, for the declared measurements
    (:data:`.measurements.FACTOR_MEASUREMENTS`).

    Example:
        >>> Headline("k", "a metric", lambda e: 0.5).prompt_free
        False

    """

    key: str
    label: str
    value: Callable[[Entry], float | None]
    prompt_free: bool = False
    metric: str | None = None
    condition: Condition | None = None


def measurement_condition(data: ReportData, measurement: M.FactorMeasurement) -> Condition | None:
    """The clean condition of the measurement's kinds that the most entries have (ties: the first in page order).

    Example:
        >>> from zeroshift.results import RunRecord
        >>> from zeroshift.metrics import MetricValue
        >>> r = RunRecord.new(model="zoo:a", benchmark="flickr30k_retrieval", shift=None, prompts="openai",
        ...                   label_space="none", metrics=[MetricValue("i2t_r1", 0.5, True)])
        >>> measurement_condition(ReportData([r]), M.FACTOR_MEASUREMENTS[0]).name
        'flickr30k_retrieval'
        >>> measurement_headline(ReportData([r]), M.FACTOR_MEASUREMENTS[0]).key
        'i2t_r1_flickr30k_retrieval'

    """
    name = measurement.name
    conditions = [c for c in data.conditions_with(name) if c.kind in measurement.kinds and c.shift is None]
    return max(conditions, key=lambda c: len(data.entries_with(name, c)), default=None)


def measurement_headline(data: ReportData, measurement: M.FactorMeasurement) -> Headline | None:
    """The :class:`Headline` of a declared six-factor measurement, or None when no model has it (example: see
    :func:`measurement_condition`).
    """
    c = measurement_condition(data, measurement)
    if c is None:
        return None
    name = measurement.name

    def value(e: Entry) -> float | None:
        # a prompt-free value is the model's: the entry's own, else the same model's under another prompt set
        others = [o for o in data.entries if o.model == e.model and o is not e] if measurement.prompt_free else []
        for o in [e, *others]:
            if (m := data.metric(o, c, name)) is not None and finite(m.value) is not None:
                return float(m.value)
        return None

    label = f"{M.label(name)} on {c.label}"
    return Headline(f"{name}_{c.name}", label, value, measurement.prompt_free, name, c)


def headline_metrics(data: ReportData) -> list[Headline]:
    """The metrics the six-factor question is asked of: top-1 in distribution and under the natural shifts, ECE,
    shape bias, OOD AUROC, then the declared :data:`.measurements.FACTOR_MEASUREMENTS` (retrieval and the gap).
    """
    from zeroshift.reports.html.sections.common import in_distribution

    out: list[Headline] = []

    def value_on(c: Condition, name: str) -> Callable[[Entry], float | None]:
        return lambda e: finite(m.value) if (m := data.metric(e, c, name)) is not None else None

    in_dist = [c for c in data.conditions_with(M.PRIMARY) if c.kind == "in_distribution" and c.corruption is None]
    main = max(in_dist, key=lambda c: (len(data.entries_with(M.PRIMARY, c)), -c.sort_key[2]), default=None)
    if main is not None:
        out.append(Headline("top1_in_distribution", f"top-1 on {main.label}", value_on(main, M.PRIMARY)))
    shifts = [c for c in data.conditions_with(M.PRIMARY) if c.kind == "natural_shift"]
    if shifts:

        def shifted(e: Entry) -> float | None:
            vals = [data.metric(e, c, M.PRIMARY) for c in shifts]
            if any(v is None or finite(v.value) is None for v in vals):
                return None  # only models run on every shift are compared
            return float(np.mean([v.value for v in vals]))  # type: ignore[union-attr]

        out.append(Headline("top1_shifts", "mean top-1 over the distribution shifts", shifted))
    ece = [c for c in data.conditions_with(M.RELIABILITY) if c.kind == "in_distribution"]
    if ece:
        c = max(ece, key=lambda c: len(data.entries_with(M.RELIABILITY, c)))
        out.append(Headline("ece_in_distribution", f"ECE on {c.label}", value_on(c, M.RELIABILITY)))
    sb = data.conditions_with(M.SHAPE_BIAS)
    if sb:
        out.append(Headline("shape_bias", f"shape bias on {sb[0].label}", value_on(sb[0], M.SHAPE_BIAS)))
    for c in (c for c in data.conditions if c.kind == "ood"):
        if in_distribution(data, c) is None:
            continue
        score = next((s for s in M.ood_scores() if data.conditions_with(f"{s}_auroc", lambda d, c=c: d == c)), None)
        if score:
            label = f"{M.label(score + '_auroc')} on {c.label}"
            out.append(Headline(f"ood_auroc_{c.name}", label, value_on(c, f"{score}_auroc")))
            break
    for measurement in M.FACTOR_MEASUREMENTS:
        if (headline := measurement_headline(data, measurement)) is not None:
            out.append(headline)
    return out


@dataclass
class FactorEffect:
    """How far one factor moves one metric: the group means, their range and its permutation p-value."""

    metric: str
    metric_label: str
    factor: str
    factor_label: str
    means: dict[str, float]
    sizes: dict[str, int]
    spread: float
    p: float
    exact: bool


def factor_effects(data: ReportData) -> list[FactorEffect]:
    """Every (headline metric, factor) with two or more groups of models that have the metric (memoised)."""
    if "factor_effects" in data.memo:
        return data.memo["factor_effects"]
    from zeroshift.reports.html.sections.six_factors import groups

    out = []
    for h in headline_metrics(data):
        key, label, value = h.key, h.label, h.value
        for field_, title in M.SIX_FACTORS:
            if field_ == "prompts" and h.prompt_free:
                continue
            values, labels = [], []
            for g, members in groups(data, field_).items():
                for e in members:
                    v = value(e)
                    if v is not None:
                        values.append(v)
                        labels.append(g)
            keys = list(dict.fromkeys(labels))
            if len(keys) < 2:
                continue
            means = {g: float(np.mean([v for v, lab in zip(values, labels, strict=True) if lab == g])) for g in keys}
            sizes = {g: labels.count(g) for g in keys}
            p, exact = range_permutation_p(values, labels)
            out.append(FactorEffect(key, label, field_, title, means, sizes, group_range(values, labels), p, exact))
    data.memo["factor_effects"] = out
    return out


def six_factors(data: ReportData) -> list[Finding]:
    """For each headline metric, the factor of the six whose groups differ most."""
    effects = factor_effects(data)
    out = []
    underpowered: list[FactorEffect] = []
    for metric in list(dict.fromkeys(f.metric for f in effects)):
        here = [f for f in effects if f.metric == metric]
        best = max(here, key=lambda f: f.spread)
        if min_p(list(best.sizes.values())) >= ALPHA:
            underpowered.append(best)
            continue
        tied = [f.factor_label for f in here if f is not best and abs(f.spread - best.spread) < 1e-9]
        hi = max(best.means, key=best.means.__getitem__)
        lo = min(best.means, key=best.means.__getitem__)
        significant = best.p < ALPHA
        how = "exact" if best.exact else "Monte Carlo"
        verdict = "" if significant else "; not significant"
        out.append(
            Finding(
                "six_factors",
                f"{best.metric_label[0].upper()}{best.metric_label[1:]} differs most by {best.factor_label}"
                + (f" (as much by {', '.join(tied)}: the same split of the models)" if tied else "")
                + ": "
                f"{hi} {fmt(best.means[hi])} ({_models(best.sizes[hi])}) vs {lo} {fmt(best.means[lo])} "
                f"({_models(best.sizes[lo])}), a range of {fmt(best.spread)} (permutation p = {best.p:.2g}, "
                f"{how}{verdict}).",
                "six-factors-ranges",
                best.spread,
                None,
                significant,
                {"metric": metric, "factor": best.factor, "means": best.means, "p": best.p},
            )
        )
    if underpowered:
        n = max(sum(f.sizes.values()) for f in underpowered)
        names = ", ".join(f.metric_label for f in underpowered)
        out.append(
            Finding(
                "six_factors",
                f"Which of the six factors moves {names} cannot be told from {_models(n)}: no split of so few "
                f"models into groups can reach p < {ALPHA:g} in a permutation test (the ranges are drawn in the "
                "figure).",
                "six-factors-ranges",
                None,
                None,
                False,
                {"metrics": [f.metric for f in underpowered], "n_models": n},
            )
        )
    return out


def paired_drop(
    data: ReportData,
    conditions: Sequence[Condition],
    title: str,
    figure: str | None,
    question: str,
    names: dict[Condition, str] | None = None,
) -> list[Finding]:
    """How much an attack costs: mean top-1 without and with it, and for how many models the paired drop is real.

    One sentence for ``conditions`` (e.g. the radii of one attack, or the words of a typographic attack): per
    condition, the mean over the models run on it of the paired clean top-1 and of the top-1 under the attack,
    the mean attack success rate when recorded, and how many models' ``accuracy_drop`` interval (a paired
    bootstrap over images) lies above 0 (a significant drop) or below 0 (a significant rise). Conditions without
    ``accuracy_drop`` are left out; None of them: no sentence.
    """
    parts, detail, largest, significant = [], [], None, False
    n_all: set[str] = set()
    for c in conditions:
        rows = []
        for e in data.entries_with("accuracy_drop", c):
            drop, after, clean = (data.metric(e, c, n) for n in ("accuracy_drop", M.PRIMARY, "clean_top1"))
            if drop is None or after is None or clean is None or finite(drop.value) is None:
                continue
            rows.append((e, drop, after, clean, data.metric(e, c, "attack_success_rate")))
        if not rows:
            continue
        n_all.update(e.id for e, *_ in rows)
        before = float(np.mean([r[3].value for r in rows]))
        after = float(np.mean([r[2].value for r in rows]))
        worse = [r[0].label for r in rows if finite(r[1].ci_low) is not None and r[1].ci_low > 0]
        better = [r[0].label for r in rows if finite(r[1].ci_high) is not None and r[1].ci_high < 0]
        significant = significant or bool(worse or better)
        asr = [r[4].value for r in rows if r[4] is not None and finite(r[4].value) is not None]
        verdict = f"significant drop for {len(worse)} of {len(rows)}"
        if better:
            verdict += f", significant rise for {len(better)}"
        if asr:
            verdict = f"attack success {fmt(float(np.mean(asr)))}; " + verdict
        name = (names or {}).get(c, c.label)
        parts.append(f"{name} {fmt(before)} → {fmt(after)} ({verdict})")
        mean_drop = before - after
        largest = mean_drop if largest is None or mean_drop > largest else largest
        detail.append(
            {"condition": c.label, "clean_top1": before, "top1": after, "drop_significant": worse, "rise": better}
        )
    if not parts:
        return []
    return [
        Finding(
            question,
            f"{title}: mean top-1 over {_models(len(n_all))}, clean → attacked: "
            + "; ".join(parts)
            + " (significant: the model's paired bootstrap interval of the drop excludes 0).",
            figure,
            largest,
            None,
            significant,
            {"conditions": detail},
        )
    ]


def min_p(sizes: list[int]) -> float:
    """A lower bound of the p-value a permutation test of the range can give with groups of these sizes.

    At least the observed assignment and its mirror images (groups of equal size swapped) count as extreme; with
    two groups the bound is reached by perfectly separated groups.

    Example:
        >>> min_p([1, 1]), round(min_p([2, 2, 1]), 4), round(min_p([5, 5]), 4)
        (1.0, 0.0667, 0.0079)

    """
    count = math.factorial(sum(sizes))
    for s in sizes:
        count //= math.factorial(s)
    swaps = 1
    for k in Counter(sizes).values():
        swaps *= math.factorial(k)
    return min(1.0, swaps / count)


def findings(data: ReportData, sections: Sequence[Any] | None = None) -> list[Finding]:
    """The findings list: each section's sentences, in page order, from the sections the store can build.

    A section contributes sentences through its :meth:`~zeroshift.reports.html.section.Section.findings` method
    (the sections here call this module's questions); ``sections`` defaults to every registered one.
    """
    if sections is None:
        from zeroshift.reports.html.sections import ordered

        sections = ordered()
    return [f for section in sections if section.available(data) for f in section.findings(data)]
