"""Effective robustness (Taori et al. 2020): a model's accuracy under a natural shift beyond the trend of a
baseline population of ImageNet models.

The trend is a least-squares line in transformed space, ``T(acc_shift) = a * T(acc_id) + b`` with ``T`` the logit
(default) or the probit (Miller et al. 2021); its confidence band comes from a bootstrap over the population's
models (the ImageNet testbed's procedure). A model's effective robustness is ``acc_shift - T^-1(a * T(acc_id) + b)``
with the interval of the fitted line at its ``acc_id``; relative robustness is ``acc_shift / acc_id``.

Baselines: ``testbed`` (the 85 standard ImageNet-1k models of Taori et al.), ``timm`` (timm's ImageNet-1k-only
models; no ObjectNet), ``published`` (both) ship in ``_info/er_baseline.csv`` with their sources; ``store`` fits
any population of models in the user's results store. For ImageNet-R, -A and ObjectNet the in-distribution axis
is ImageNet val on the same classes (``class_subsets`` metric group of an ``imagenet`` run).

Example:
    >>> import numpy as np
    >>> x = np.linspace(0.5, 0.9, 20)
    >>> y = inverse_transform(0.8 * transform(x) - 0.6)
    >>> fit = fit_trend(x, y, n_boot=200)
    >>> round(fit.slope, 6), round(fit.intercept, 6)
    (0.8, -0.6)

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from zeroshift.conditions import condition_of
from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP
from zeroshift.reports.base import (
    POPULATION,
    info_csv,
    info_json,
    latest,
    limit_of,
    matches,
    model_key,
    parse_filter,
    passes,
)
from zeroshift.results.schema import RunRecord

#: accuracies are clipped to [EPS, 1 - EPS] before the transform (0 and 1 have no logit)
EPS = 1e-4
TRANSFORMS = ("logit", "probit")
BASELINES = ("testbed", "timm", "published", "store")


def transform(p: np.ndarray | float, kind: str = "logit") -> np.ndarray:
    """Logit or probit of accuracies (clipped to [EPS, 1 - EPS])."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    if kind == "logit":
        return special.logit(q)
    if kind == "probit":
        return stats.norm.ppf(q)
    raise UsageError(f"unknown transform {kind!r}; choose logit or probit")


def inverse_transform(t: np.ndarray | float, kind: str = "logit") -> np.ndarray:
    """Inverse of :func:`transform`."""
    t = np.asarray(t, dtype=np.float64)
    return special.expit(t) if kind == "logit" else stats.norm.cdf(t)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least squares of ``y`` on ``x`` (both ``(B, n)``): slopes and intercepts."""
    mx, my = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    sxx = ((x - mx) ** 2).sum(axis=1)
    sxy = ((x - mx) * (y - my)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(sxx > 1e-12, sxy / sxx, np.nan)
    return slope, my[:, 0] - slope * mx[:, 0]


@dataclass
class TrendFit:
    """A fitted trend ``T(acc_shift) = slope * T(acc_id) + intercept`` with bootstrap intervals.

    Attributes:
        transform: ``logit`` or ``probit``.
        slope: fitted slope.
        intercept: fitted intercept.
        slope_ci: percentile interval of the slope over bootstrap resamples of the models.
        intercept_ci: likewise for the intercept.
        n: number of models in the population.
        r: Pearson correlation in transformed space.
        alpha: 1 - confidence level.
        boot: ``(n_boot, 2)`` bootstrap slopes and intercepts (degenerate resamples dropped).

    """

    transform: str
    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    intercept_ci: tuple[float, float]
    n: int
    r: float
    alpha: float
    boot: np.ndarray = field(repr=False)

    def predict(self, acc_id: np.ndarray | float) -> np.ndarray:
        """The accuracy under the shift that the trend expects at ``acc_id``."""
        return inverse_transform(self.slope * transform(acc_id, self.transform) + self.intercept, self.transform)

    def predict_ci(self, acc_id: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise bootstrap interval of :meth:`predict` (the band around the line)."""
        t = np.atleast_1d(transform(acc_id, self.transform))
        preds = inverse_transform(self.boot[:, :1] * t[None, :] + self.boot[:, 1:], self.transform)
        lo = np.quantile(preds, self.alpha / 2, axis=0)
        hi = np.quantile(preds, 1 - self.alpha / 2, axis=0)
        return lo, hi

    def as_dict(self) -> dict[str, Any]:
        """The fit without its bootstrap samples."""
        return {
            "transform": self.transform,
            "slope": self.slope,
            "intercept": self.intercept,
            "slope_ci": list(self.slope_ci),
            "intercept_ci": list(self.intercept_ci),
            "n": self.n,
            "r": self.r,
            "confidence": 1 - self.alpha,
            "n_boot": int(self.boot.shape[0]),
        }


def fit_trend(
    acc_id: np.ndarray,
    acc_shift: np.ndarray,
    kind: str = "logit",
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> TrendFit:
    """Fit the trend of a population (one accuracy pair per model) with a bootstrap over models.

    Raises:
        UsageError: fewer than 3 models, or all at the same in-distribution accuracy.

    """
    x = transform(np.asarray(acc_id, dtype=np.float64), kind)
    y = transform(np.asarray(acc_shift, dtype=np.float64), kind)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("acc_id and acc_shift must be 1-d arrays of the same length")
    n = x.size
    if n < 3:
        raise UsageError(f"a trend needs at least 3 models in the baseline population, got {n}")
    slope, intercept = (float(v[0]) for v in _ols(x[None, :], y[None, :]))
    if not np.isfinite(slope):
        raise UsageError("every model of the baseline population has the same in-distribution accuracy")
    rng = np.random.default_rng(seed)
    boot = np.empty((0, 2))
    if n_boot > 0:
        idx = rng.integers(0, n, size=(n_boot, n))
        bs, bi = _ols(x[idx], y[idx])
        keep = np.isfinite(bs)
        boot = np.stack([bs[keep], bi[keep]], axis=1)
    if boot.shape[0] == 0:
        boot = np.array([[slope, intercept]])

    def interval(v: np.ndarray) -> tuple[float, float]:
        return float(np.quantile(v, alpha / 2)), float(np.quantile(v, 1 - alpha / 2))

    r = float(np.corrcoef(x, y)[0, 1]) if np.std(y) > 0 else float("nan")
    return TrendFit(kind, slope, intercept, interval(boot[:, 0]), interval(boot[:, 1]), n, r, alpha, boot)


def effective_robustness(fit: TrendFit, acc_id: float, acc_shift: float) -> tuple[float, float, float]:
    """``(ER, ci_low, ci_high)``: accuracy under the shift minus the trend's expectation, with the fit's interval.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(0.5, 0.9, 10)
        >>> fit = fit_trend(x, inverse_transform(transform(x) - 1.0), n_boot=100)
        >>> round(effective_robustness(fit, 0.7, 0.7)[0], 4)  # the trend expects expit(logit(0.7) - 1) = 0.4619
        0.2381

    """
    expected = float(fit.predict(acc_id))
    lo, hi = fit.predict_ci(acc_id)
    return acc_shift - expected, float(acc_shift - hi[0]), float(acc_shift - lo[0])


#: the interval methods of :func:`effective_robustness_interval` and what each means (for the record)
ER_INTERVAL_METHODS = {
    "clopper_pearson": (
        "exact and conservative: the shifted accuracy's Clopper-Pearson interval, the in-distribution accuracy's "
        "Clopper-Pearson interval carried through every bootstrap line of the trend (its lowest and highest "
        "expectation over that interval), and the percentile band of those expectations over the lines, each at "
        "level alpha / 3 (Bonferroni), so the interval covers the model's sampling error on both test sets and the "
        "trend's uncertainty at 1 - alpha or more; the ImageNet testbed draws the same Clopper-Pearson intervals "
        "(plotter.clopper_pearson) as error bars and the bootstrap band separately"
    ),
    "bootstrap": (
        "percentile bootstrap over images and over the population's models: each replicate draws the number of "
        "correct images of both test sets as Binomial(n, k / n) (exactly the count in a resample of the n images "
        "with replacement) and one bootstrap line of the trend, and takes acc_shift* - line(acc_id*); close to "
        "the nominal level rather than above it"
    ),
}


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial interval of ``k`` successes in ``n`` trials at level ``1 - alpha`` (beta quantiles).

    Example:
        >>> [round(v, 4) for v in clopper_pearson(0, 10)], [round(v, 4) for v in clopper_pearson(5, 10)]
        ([0.0, 0.3085], [0.1871, 0.8129])

    """
    lo = float(stats.beta.ppf(alpha / 2, k, n - k + 1)) if k > 0 else 0.0
    hi = float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k)) if k < n else 1.0
    return lo, hi


def _correct_count(acc: float, n: Any, what: str) -> int:
    """The number of correct samples behind an accuracy measured on ``n`` samples (checked to be whole)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UsageError(f"effective robustness: {what} must be a positive sample count, got {n!r}")
    if not 0.0 <= acc <= 1.0:
        raise UsageError(f"effective robustness: the {what[2:]} accuracy must be in [0, 1], got {acc!r}")
    k = round(acc * int(n))
    if abs(acc * int(n) - k) > 1e-6 * max(1, int(n)):
        raise UsageError(
            f"effective robustness: accuracy {acc!r} is not a whole number of correct samples out of {what}={n} "
            "(give the sample count the accuracy was measured on)"
        )
    return int(k)


def _lines_at(boot: np.ndarray, kind: str, acc_id: np.ndarray) -> np.ndarray:
    """Expectations of bootstrap lines ``boot`` (``(L, 2)``: slope, intercept): at every ``acc_id`` (``(L, P)``)."""
    t = transform(acc_id, kind)
    return inverse_transform(boot[:, :1] * t[None, :] + boot[:, 1:], kind)


def _cp_interval(
    fit: TrendFit, k_id: int, n_id: int, k_shift: int, n_shift: int, alpha: float, seed: int
) -> tuple[float, float, dict[str, Any]]:
    part = alpha / 3  # Bonferroni: three intervals that must hold together
    s_lo, s_hi = clopper_pearson(k_shift, n_shift, part)
    i_lo, i_hi = clopper_pearson(k_id, n_id, part)
    # a line is monotone in acc_id, so its range over [i_lo, i_hi] is reached at the two ends
    ends = _lines_at(fit.boot, fit.transform, np.array([i_lo, i_hi]))
    e_lo = float(np.quantile(ends.min(axis=1), part / 2))
    e_hi = float(np.quantile(ends.max(axis=1), 1 - part / 2))
    parts = {
        "level_of_each_part": 1 - part,
        "shift_ci": [s_lo, s_hi],
        "id_ci": [i_lo, i_hi],
        "expected_ci": [e_lo, e_hi],
    }
    return s_lo - e_hi, s_hi - e_lo, parts


def _bootstrap_interval(
    fit: TrendFit, k_id: int, n_id: int, k_shift: int, n_shift: int, alpha: float, seed: int
) -> tuple[float, float, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    n_rep = max(int(fit.boot.shape[0]), DEFAULT_BOOTSTRAP["n_boot"])
    lines = fit.boot[np.arange(n_rep) % fit.boot.shape[0]]  # replicate r takes line r (cycling)
    acc_id = rng.binomial(n_id, k_id / n_id, size=n_rep) / n_id
    acc_shift = rng.binomial(n_shift, k_shift / n_shift, size=n_rep) / n_shift
    t = transform(acc_id, fit.transform)
    er = acc_shift - inverse_transform(lines[:, 0] * t + lines[:, 1], fit.transform)
    lo, hi = np.quantile(er, alpha / 2), np.quantile(er, 1 - alpha / 2)
    return float(lo), float(hi), {"replicates": n_rep, "seed": int(seed)}


_ER_INTERVALS = {"clopper_pearson": _cp_interval, "bootstrap": _bootstrap_interval}


def effective_robustness_interval(
    fit: TrendFit,
    acc_id: float,
    acc_shift: float,
    n_id: int,
    n_shift: int,
    method: str = "clopper_pearson",
    alpha: float | None = None,
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> tuple[float, float, float, dict[str, Any]]:
    """``(ER, ci_low, ci_high, record)``: effective robustness with an interval that also covers the model's own
    sampling error, from its accuracies and the sample counts behind them (:data:`ER_INTERVAL_METHODS`).

    ``ER = acc_shift - T^-1(slope * T(acc_id) + intercept)`` as :func:`effective_robustness`, whose interval
    covers the trend's uncertainty only. ``clopper_pearson`` (default): ``[s_lo - e_hi, s_hi - e_lo]`` with
    ``[s_lo, s_hi]`` the exact interval of the shifted accuracy and ``[e_lo, e_hi]`` the trend's expectation over
    the exact interval of ``acc_id``, widened by the band of the fit's bootstrap lines, each part at level
    ``alpha / 3``. ``bootstrap``: percentile interval over replicates that redraw both accuracies from their counts
    and take one bootstrap line each. ``alpha`` defaults to the fit's.

    Example:
        >>> x = np.linspace(0.5, 0.9, 10)
        >>> fit = fit_trend(x, inverse_transform(transform(x) - 1.0), n_boot=200)
        >>> er, lo, hi, record = effective_robustness_interval(fit, 0.7, 0.7, n_id=10000, n_shift=2000)
        >>> round(er, 4), lo < er - 0.02 < er + 0.02 < hi, record["k_shift"], record["method"]
        (0.2381, True, 1400, 'clopper_pearson')
        >>> _, blo, bhi, _ = effective_robustness_interval(fit, 0.7, 0.7, 10000, 2000, method="bootstrap")
        >>> lo < blo < er < bhi < hi  # near the nominal level, inside the conservative interval
        True

    """
    a = fit.alpha if alpha is None else float(alpha)
    if not 0.0 < a < 1.0:
        raise UsageError(f"effective robustness: alpha must be in (0, 1), got {alpha!r}")
    if method not in _ER_INTERVALS:
        raise UsageError(
            f"effective robustness: interval method must be one of {', '.join(_ER_INTERVALS)}, got {method!r}"
        )
    k_id, k_shift = _correct_count(acc_id, n_id, "n_id"), _correct_count(acc_shift, n_shift, "n_shift")
    lo, hi, parts = _ER_INTERVALS[method](fit, k_id, int(n_id), k_shift, int(n_shift), a, seed)
    record = {
        "method": method,
        "definition": ER_INTERVAL_METHODS[method],
        "confidence": 1 - a,
        "n_id": int(n_id),
        "n_shift": int(n_shift),
        "k_id": k_id,
        "k_shift": k_shift,
        "n_boot_lines": int(fit.boot.shape[0]),
        **parts,
    }
    return float(acc_shift - fit.predict(acc_id)), float(lo), float(hi), record


# --- populations ------------------------------------------------------------------------------------------


def shift_definitions() -> dict[str, dict[str, Any]]:
    """The natural shifts (``_info/natural_shifts.json``): benchmark, label space, ID metric, baseline columns."""
    return info_json("natural_shifts.json")["shifts"]


def baseline_sources() -> dict[str, Any]:
    """Where the shipped baseline figures come from (``_info/er_baseline_sources.json``)."""
    return info_json("er_baseline_sources.json")


def baseline_points(shift: str, source: str = "testbed") -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(models, acc_id, acc_shift)`` of the shipped population for one shift (models with both figures).

    Example:
        >>> names, x, y = baseline_points("imagenet_v2", "testbed")
        >>> len(names) > 50 and bool((y < x).all())
        True

    """
    if source not in ("testbed", "timm", "published"):
        raise UsageError(f"unknown baseline {source!r}; choose one of: {', '.join(BASELINES)}")
    spec = shift_definitions()[shift]
    names, xs, ys = [], [], []
    for row in info_csv("er_baseline.csv"):
        if source != "published" and row["source"] != source:
            continue
        x, y = row[spec["baseline_id_column"]], row[spec["baseline_column"]]
        if x and y:
            names.append(f"{row['source']}:{row['model']}")
            xs.append(float(x))
            ys.append(float(y))
    return names, np.asarray(xs), np.asarray(ys)


@dataclass
class StorePoint:
    """One model (with its prompt set) measured in and out of distribution in the user's store."""

    model: str
    prompts: str
    acc_id: float
    acc_shift: float
    id_run: str
    shift_run: str
    record: RunRecord = field(repr=False)
    n_id: int | None = None
    n_shift: int | None = None


def sample_count(record: RunRecord, metric: str) -> int | None:
    """How many samples a metric of a record was measured on (its details, else the record's evaluated count)."""
    found = record.metric(metric)
    n = (found.details or {}).get("n") if found is not None else None
    n = n if n is not None else (record.counts or {}).get("evaluated")
    return int(n) if isinstance(n, int | float) and not isinstance(n, bool) and n >= 1 else None


def interval_of(
    fit: TrendFit, acc_id: float, acc_shift: float, n_id: int | None, n_shift: int | None, method: str, seed: int
) -> tuple[float, float, float, str]:
    """``(ER, lo, hi, method used)``: with the model's own sampling error when the sample counts are known, else the
    trend's interval only (method ``trend``).
    """
    if n_id and n_shift:
        try:
            er, lo, hi, _ = effective_robustness_interval(fit, acc_id, acc_shift, n_id, n_shift, method, seed=seed)
            return er, lo, hi, method
        except UsageError:  # an accuracy that is not a count of these samples (a hand-made record): trend only
            pass
    er, lo, hi = effective_robustness(fit, acc_id, acc_shift)
    return er, lo, hi, "trend"


def store_points(records: list[RunRecord], shift: str) -> tuple[list[StorePoint], list[str]]:
    """Pair each (model, prompts)'s record on ``shift`` with its in-distribution record; also return notes on gaps.

    The in-distribution benchmark and the metric of its run that is the axis come from the shifted record's
    condition (declared by the benchmark: ImageNet val, on the same classes for ImageNet-R/-A and ObjectNet).
    """
    spec = shift_definitions()[shift]
    records = latest(records)
    clean = {(model_key(r), r.benchmark): r for r in records if r.shift is None}  # full runs preferred
    notes = []
    points = []
    for r in records:
        if not matches(r, spec["benchmark"], spec["params"], spec["label_space"]):
            continue
        top1 = r.metric("top1")
        condition = condition_of(r)
        id_benchmark, id_metric = condition.get("in_distribution"), condition.get("id_metric", "top1")
        base = clean.get((model_key(r), id_benchmark))
        if top1 is None:
            continue
        if base is None:
            notes.append(f"{r.model} ({r.prompts}): {shift} has no matching {id_benchmark} run (same prompts)")
            continue
        if limit_of(base) != limit_of(r):
            notes.append(
                f"{r.model} ({r.prompts}): {shift} (limit {limit_of(r)}) and its {id_benchmark} run (limit "
                f"{limit_of(base)}) were evaluated on different subsets; rerun one of them to pair them"
            )
            continue
        acc_id = base.metric(id_metric)
        if acc_id is None:
            notes.append(
                f"{r.model} ({r.prompts}): the {id_benchmark} run lacks {id_metric}; rerun it with the metric group "
                "that gives it (class_subsets; features come from the cache)"
            )
            continue
        n_id, n_shift = sample_count(base, id_metric), sample_count(r, "top1")
        points.append(StorePoint(r.model, r.prompts, acc_id.value, top1.value, base.run_id, r.run_id, r, n_id, n_shift))
    return points, notes


# --- the analysis -----------------------------------------------------------------------------------------


@dataclass
class ShiftFit:
    """The trend of one shift: which population, how many models, the fit."""

    shift: str
    population: str
    fit: TrendFit


@dataclass
class ModelRobustness:
    """A model's effective and relative robustness on one shift."""

    model: str
    prompts: str
    shift: str
    acc_id: float
    acc_shift: float
    expected: float
    effective_robustness: float
    ci_low: float
    ci_high: float
    relative_robustness: float
    in_population: bool
    model_info: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """A flat JSON-ready dict."""
        out = {k: v for k, v in self.__dict__.items() if k != "model_info"}
        return {**out, **{k: self.model_info.get(k) for k in ("architecture", "training_data", "loss")}}


@dataclass
class EffectiveRobustnessReport:
    """Fits per shift, per-model rows, notes on what was missing, and the protocol used."""

    fits: list[ShiftFit]
    rows: list[ModelRobustness]
    notes: list[str]
    protocol: dict[str, Any]


def analyze_effective_robustness(
    records: list[RunRecord],
    baseline: str = "testbed",
    kind: str = "logit",
    shifts: list[str] | None = None,
    population: list[str] | None = None,
    population_filter: dict[str, str] | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
    interval: str = "bootstrap",
) -> EffectiveRobustnessReport:
    """Fit the trend of each shift on a baseline population and place every stored model against it.

    Each model's effective robustness comes with an interval that covers its own sampling error on both test sets
    as well as the trend's (``interval``: ``bootstrap``, about nominal, default; or ``clopper_pearson``, exact and
    conservative, as the ImageNet testbed's error bars), from the sample counts of its records.

    Args:
        records: the store's records.
        baseline: ``testbed``, ``timm``, ``published`` (shipped tables) or ``store``.
        kind: ``logit`` or ``probit``.
        shifts: shift names (default: all of ``natural_shifts.json``).
        population: with ``store``, the model specs that form the population.
        population_filter: with ``store``, ``FIELD=VALUE`` metadata that selects the population.
        n_boot: bootstrap resamples of the population.
        alpha: 1 - confidence level.
        seed: bootstrap seed.
        interval: how each model's interval covers its own sampling error (``bootstrap`` or ``clopper_pearson``).

    """
    from zeroshift.registry import suggest

    if interval not in ER_INTERVAL_METHODS:
        raise UsageError(f"unknown interval method {interval!r}; choose one of: {', '.join(ER_INTERVAL_METHODS)}")
    if baseline not in BASELINES:
        raise UsageError(f"unknown baseline {baseline!r}{suggest(baseline, list(BASELINES))}")
    if kind not in TRANSFORMS:
        raise UsageError(f"unknown transform {kind!r}; choose logit or probit")
    definitions = shift_definitions()
    for s in shifts or []:
        if s not in definitions:
            raise UsageError(f"unknown natural shift {s!r}{suggest(s, list(definitions))}")
    filters = parse_filter(population_filter or {})
    from zeroshift.specs import ModelSpec

    members = {ModelSpec.parse(m).canonical for m in population or []}
    if baseline == "store" and not (members or filters):
        raise UsageError("--baseline store needs the population: --population MODEL or --population-filter FIELD=VALUE")
    if baseline != "store" and (members or filters):
        raise UsageError("--population and --population-filter select models of the store: use --baseline store")
    fits: list[ShiftFit] = []
    rows: list[ModelRobustness] = []
    notes: list[str] = []
    for shift in shifts or list(definitions):
        points, gaps = store_points(records, shift)
        notes.extend(gaps)
        # a missing pair is worth a note for the shifts that were asked for or that the store measured
        measured = shifts or any(condition_of(r).get("benchmark") == definitions[shift]["benchmark"] for r in records)
        if not points and measured:
            notes.append(f"{shift}: no model in the store has both an imagenet run and a {shift} run")
        in_pop = [
            baseline == "store" and (p.model in members or (bool(filters) and passes(p.record, filters)))
            for p in points
        ]
        if baseline == "store":
            chosen = [p for p, keep in zip(points, in_pop, strict=True) if keep]
            xs = np.asarray([p.acc_id for p in chosen])
            ys = np.asarray([p.acc_shift for p in chosen])
            label = f"store ({len(chosen)} models)"
        else:
            _, xs, ys = baseline_points(shift, baseline)
            label = f"{baseline} ({xs.size} published models)"
        if xs.size < 3:
            notes.append(f"{shift}: the {baseline} population has {xs.size} models with both accuracies; no trend")
            continue
        fit = fit_trend(xs, ys, kind, n_boot, alpha, seed)
        fits.append(ShiftFit(shift, label, fit))
        for p, member in zip(points, in_pop, strict=True):
            er, lo, hi, _ = interval_of(fit, p.acc_id, p.acc_shift, p.n_id, p.n_shift, interval, seed)
            rows.append(
                ModelRobustness(
                    p.model,
                    p.prompts,
                    shift,
                    p.acc_id,
                    p.acc_shift,
                    float(fit.predict(p.acc_id)),
                    er,
                    lo,
                    hi,
                    p.acc_shift / p.acc_id if p.acc_id > 0 else float("nan"),
                    member,
                    dict(p.record.model_info),
                )
            )
    protocol = {
        "definition": "ER = acc_shift - T^-1(a * T(acc_id) + b), (a, b) least squares over the baseline population",
        "transform": kind,
        "clip": [EPS, 1 - EPS],
        "baseline": baseline,
        "population": sorted(members) if members else None,
        "population_filter": filters or None,
        "bootstrap": {"n_boot": n_boot, "alpha": alpha, "seed": seed, "over": "models of the population"},
        "id_axis": "the in-distribution metric each shifted record's condition names (id_metric)",
        "sources": baseline_sources()["sources"] if baseline != "store" else None,
        "records": POPULATION,
        "interval": {
            "method": interval,
            "definition": ER_INTERVAL_METHODS[interval],
            "without_counts": "the trend's interval only (records without sample counts)",
        },  # fmt: skip
    }
    return EffectiveRobustnessReport(fits, rows, notes, protocol)
