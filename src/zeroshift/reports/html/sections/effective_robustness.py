"""Effective robustness (Taori et al. 2020): shifted vs in-distribution accuracy on logit axes, with the trend.

Each distribution shift (a condition whose record says ``kind == "natural_shift"``: natural shifts of ImageNet,
FactorWorld's held-out splits; never corruptions or attacks) gets a scatter plot: one point per model at (accuracy in
distribution, accuracy under the shift), both axes logit-scaled and ticked in accuracy, the line y = x (no drop), and
the baseline trend T(acc_shift) = a * T(acc_id) + b with each model's effective robustness and its interval. Every
trend is the one fit of :mod:`zeroshift.reports.effective_robustness` (least squares in logit space, bootstrap over
the population's models): for the ImageNet shifts with a published population (the testbed's models, drawn in
grey), fitted on it; for the other shifts, fitted on the store's supervised classifiers trained on the
in-distribution set (the record's ``training_set``: ImageNet-1k, or FactorWorld-narrow for the zoo) when there are at
least three. Which one was used is written next to every plot.

Example:
    >>> t = Trend(lambda a: a, "identity")
    >>> t.predict(0.7)
    0.7

"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue
from zeroshift.reports.effective_robustness import (
    ER_INTERVAL_METHODS,
    analyze_effective_robustness,
    baseline_points,
    fit_trend,
    interval_of,
    sample_count,
)
from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, Entry, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.section import (
    Figure,
    Requirement,
    Section,
    SectionContent,
    SummaryColumn,
    Table,
    TableCell,
    protocol,
)
from zeroshift.reports.html.sections.common import in_distribution, is_distribution_shift
from zeroshift.reports.html.svg import Curve, ScatterPoint, fmt, logit, scatter_plot

#: fewest store models for a trend
MIN_FIT = 3


@dataclass(frozen=True)
class Trend:
    """The expected shifted accuracy as a function of in-distribution accuracy, and where it comes from."""

    fn: Callable[[float], float]
    source: str
    formula: str = ""

    def predict(self, acc_id: float) -> float:
        return float(self.fn(acc_id))


@dataclass
class Point:
    """One model on one shift."""

    entry: Entry
    acc_id: float
    acc_shift: float
    er: float | None = None
    er_low: float | None = None
    er_high: float | None = None
    #: whether the model is one of the population the trend was fitted on
    in_population: bool = False


@dataclass
class ShiftPlot:
    """Everything one scatter plot draws."""

    label: str
    id_label: str
    points: list[Point]
    trend: Trend | None
    population: list[tuple[float, float]] = field(default_factory=list)
    protocol: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    values: list[MetricValue] = field(default_factory=list)
    #: the full specs of the shifted and in-distribution conditions (tooltips)
    spec: str = ""
    #: the fitted trend (a :class:`~zeroshift.reports.effective_robustness.TrendFit`), None without one
    fit: Any = None
    #: the store's shifted conditions the plot draws
    shifted: list[Condition] = field(default_factory=list)


def figure_id(plot: ShiftPlot) -> str:
    """The id of a shift's scatter plot (findings link to it)."""
    return slug("effective-robustness", plot.label)


def pairs(data: ReportData) -> list[tuple[Condition, Condition]]:
    """(shifted, in-distribution) condition pairs of every distribution shift with top-1 on both."""
    out = []
    for c in data.conditions_with(M.PRIMARY, is_distribution_shift):
        ref = in_distribution(data, c)
        if ref is not None and data.conditions_with(M.PRIMARY, lambda d, ref=ref: d == ref):
            out.append((c, ref))
    return out


def describe_fit(fit: Any, population: str) -> str:
    """The fitted line, its slope interval and correlation, and the population it was fitted on."""
    return (
        f"{fit.transform}(acc_shift) = {fit.slope:.3f} * {fit.transform}(acc_id) + {fit.intercept:.3f} "
        f"(slope 95% [{fit.slope_ci[0]:.3f}, {fit.slope_ci[1]:.3f}], r = {fit.r:.3f}); {population}"
    )


def from_analysis(data: ReportData) -> tuple[list[ShiftPlot], set[str], list[str]]:
    """Plots of the shifts with a published baseline population, the benchmark names covered, and notes."""
    report = analyze_effective_robustness(data.records, baseline=M.ER_PUBLISHED_BASELINE)
    plots, covered = [], set()
    for shift_fit in report.fits:
        fit = shift_fit.fit
        points = []
        for r in (r for r in report.rows if r.shift == shift_fit.shift):
            entry = data.entry(r.model, r.prompts)
            if entry is not None:
                points.append(Point(entry, r.acc_id, r.acc_shift, r.effective_robustness, r.ci_low, r.ci_high))
        if not points:  # none of the store's models is on this shift's axes (its notes say why): pair them here
            continue
        _, xs, ys = baseline_points(shift_fit.shift, M.ER_PUBLISHED_BASELINE)
        prot = {k: str(v) for k, v in report.protocol.items() if k in ("definition", "transform", "baseline")}
        prot["fit"] = describe_fit(fit, shift_fit.population)
        prot["in-distribution axis"] = str(report.protocol.get("id_axis"))
        population = list(zip(xs.tolist(), ys.tolist(), strict=True))
        trend = Trend(fit.predict, shift_fit.population)
        # readable names: the store's condition of this shift, and the in-distribution set its records name
        shifted = [c for c in data.conditions if c.name == shift_fit.shift and c.kind == "natural_shift"]
        label = shifted[0].label if len(shifted) == 1 else (shifted[0].display_name if shifted else shift_fit.shift)
        id_spec = next((c.in_distribution for c in shifted if c.in_distribution), None)
        id_cond = next((c for c in data.conditions if c.shift is None and c.benchmark == id_spec), None)
        id_label = id_cond.label if id_cond is not None else str(id_spec or "?")
        spec = "; ".join([c.spec for c in shifted] + [str(id_spec)])
        plots.append(ShiftPlot(label, id_label, points, trend, population, prot, spec=spec, fit=fit, shifted=shifted))
        covered.add(shift_fit.shift)
    return plots, covered, list(dict.fromkeys(report.notes))


def store_fit(data: ReportData, shifted: Condition, ref: Condition) -> tuple[Any, str, list[Any], set[str]]:
    """The trend of ``shifted`` against ``ref`` fitted on the store's supervised models trained on the
    in-distribution set: ``(TrendFit or None, population label, [(entry, id cell, shifted cell)], member ids)``.

    Example:
        >>> c = Condition("factorworld_sketch", None, "native", {"training_set": "FactorWorld-narrow"})
        >>> store_fit(ReportData([]), c, Condition("factorworld", None, "native", {}))[:2]
        (None, 'the 0 supervised FactorWorld-narrow models in this store')

    """
    cells = []
    for e in data.entries:
        a, b = data.cell(e, ref, M.PRIMARY), data.cell(e, shifted, M.PRIMARY)
        if a and b and all(map(math.isfinite, (a.value.value, b.value.value))):
            cells.append((e, a, b))
    training_set = shifted.info.get("training_set")
    members = {
        e.id
        for e, _, _ in cells
        if e.info.get("kind") == "fixed_head" and training_set and e.info.get("training_data") == training_set
    }
    population = [(a.value.value, b.value.value) for e, a, b in cells if e.id in members]
    fit, label = None, f"the {len(population)} supervised {training_set} models in this store"
    if len(population) >= MIN_FIT:
        xs, ys = (np.asarray(v) for v in zip(*population, strict=True))
        try:
            fit = fit_trend(xs, ys, "logit", DEFAULT_BOOTSTRAP["n_boot"], DEFAULT_BOOTSTRAP["alpha"],
                            DEFAULT_BOOTSTRAP["seed"])  # fmt: skip
        except UsageError:  # the population sits at one in-distribution accuracy: no line through it
            fit = None
    return fit, label, cells, members


def no_trend_note(training_set: Any) -> str:
    """Why a pair has no store trend.

    Example:
        >>> no_trend_note("ImageNet-1k")[:45]
        'No baseline trend: fewer than 3 supervised Im'

    """
    return (
        f"No baseline trend: fewer than {MIN_FIT} supervised {training_set} models at distinct accuracies in "
        "this store on this pair."
    )


def from_store(data: ReportData, skip: set[str]) -> list[ShiftPlot]:
    """Plots of the shift pairs without a published population, fitted on the store's supervised models."""
    plots = []
    for shifted, ref in pairs(data):
        if shifted.shift is None and shifted.name in skip:
            continue
        fit, label, cells, members = store_fit(data, shifted, ref)
        points = []
        for e, a, b in cells:
            er: tuple[Any, ...] = (None, None, None)
            if fit:
                n_id, n_shift = sample_count(a.record, M.PRIMARY), sample_count(b.record, M.PRIMARY)
                er = interval_of(fit, a.value.value, b.value.value, n_id, n_shift, "bootstrap", 0)[:3]
            points.append(Point(e, a.value.value, b.value.value, *er, in_population=e.id in members))
        notes = [] if fit is not None else [no_trend_note(shifted.info.get("training_set"))]
        records = [c.record for _, a, b in cells for c in (a, b)]
        values = [c.value for _, a, b in cells for c in (a, b)]
        prot = {
            "fit": describe_fit(fit, label) if fit else "none",
            "in-distribution axis": f"top1 on {ref.label}",
            "interval": ER_INTERVAL_METHODS["bootstrap"],
        }
        trend = Trend(fit.predict, label) if fit else None
        spec = f"{shifted.spec} vs {ref.spec}"
        plots.append(ShiftPlot(shifted.label, ref.label, points, trend, [], prot, notes, records, values, spec,
                               fit, [shifted]))  # fmt: skip
    return plots


def trend_for(data: ReportData, shifted: Condition) -> ShiftPlot | None:
    """The effective-robustness plot data of a condition: this section's plot that draws it, or (for a condition
    this section does not draw, such as a diagnostic set that names an in-distribution set) the same store fit on
    its pair, without points; None when the condition has no in-distribution set in the store.

    Example:
        >>> trend_for(ReportData([]), Condition("factorworld", None, "native", {})) is None
        True

    """
    for plot in EffectiveRobustnessSection().analyse(data)[0]:
        if shifted in plot.shifted:
            return plot
    ref = in_distribution(data, shifted)
    if ref is None:
        return None
    fit, label, _, _ = store_fit(data, shifted, ref)
    prot = {"fit": describe_fit(fit, label) if fit else "none", "in-distribution axis": f"top1 on {ref.label}"}
    notes = [] if fit is not None else [no_trend_note(shifted.info.get("training_set"))]
    trend = Trend(fit.predict, label) if fit else None
    return ShiftPlot(shifted.label, ref.label, [], trend, [], prot, notes, fit=fit, shifted=[shifted])


class EffectiveRobustnessSection(Section):
    """Scatter of logit shifted accuracy against logit in-distribution accuracy, per shift."""

    name = "effective_robustness"
    title = "Effective robustness"
    order = 20
    description = (
        "Accuracy under each distribution shift against in-distribution accuracy, on logit axes (Taori et al. "
        "2020). Points above the baseline trend (solid) are effectively robust; the dashed line is y = x."
    )
    requires = (Requirement(M.PRIMARY, is_distribution_shift, "on a distribution shift with its in-distribution set"),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.effective_robustness`)."""
        return F.effective_robustness(data)

    def available(self, data: ReportData) -> bool:
        return super().available(data) and bool(pairs(data) or self.analyse(data)[0])

    def analyse(self, data: ReportData) -> tuple[list[ShiftPlot], list[str]]:
        """Every shift's plot data, and notes (memoised per ReportData)."""
        if self.name not in data.memo:
            plots, covered, notes = from_analysis(data)
            data.memo[self.name] = (plots + from_store(data, covered), notes)
        return data.memo[self.name]

    def build(self, data: ReportData) -> SectionContent:
        plots, notes = self.analyse(data)
        figures, table_rows, owners = [], [], []
        for plot in plots:
            scatter, rows = [], []
            for p in plot.points:
                e = p.entry
                expected = plot.trend.predict(p.acc_id) if plot.trend else None
                tip = f"{e.label}\n{plot.id_label}: {fmt(p.acc_id)}\n{plot.label}: {fmt(p.acc_shift)}"
                if p.er is not None:
                    tip += f"\neffective robustness: {fmt(p.er)}"
                marker = "diamond" if e.info.get("kind") == "fixed_head" else "circle"
                scatter.append(ScatterPoint(e.id, e.label, e.color, p.acc_id, p.acc_shift, tip, marker))
                relative = p.acc_shift / p.acc_id if p.acc_id > 0 else None
                rows.append(
                    {
                        "model": e.model,
                        "prompts": e.prompts,
                        "kind": e.info.get("kind"),
                        "shift": plot.label,
                        "in_distribution": plot.id_label,
                        "acc_id": p.acc_id,
                        "acc_shift": p.acc_shift,
                        "logit_acc_id": logit(p.acc_id),
                        "logit_acc_shift": logit(p.acc_shift),
                        "baseline_prediction": expected,
                        "effective_robustness": p.er,
                        "effective_robustness_ci_low": p.er_low,
                        "effective_robustness_ci_high": p.er_high,
                        "relative_robustness": relative,
                    }
                )
                ci = f"[{fmt(p.er_low)}, {fmt(p.er_high)}]" if p.er_low is not None else ""
                table_rows.append(
                    [
                        TableCell(e.label),
                        TableCell(plot.label, title=plot.spec),
                        TableCell(fmt(p.acc_id), p.acc_id),
                        TableCell(fmt(p.acc_shift), p.acc_shift),
                        TableCell(fmt(p.er), p.er, sub=ci),
                        TableCell(fmt(relative), relative),
                    ]
                )
                owners.append(e.id)
            grid = [float(g) for g in np.linspace(0.002, 0.998, 250)]
            curves = [Curve(grid, grid, "y = x (no accuracy drop)", "#999", "5 4")]
            if plot.trend:
                curves.append(Curve(grid, [plot.trend.predict(g) for g in grid], f"trend: {plot.trend.source}", "#222"))
            population = [
                ScatterPoint("", "baseline model", "#c8c8c8", x, y, f"baseline population\n{fmt(x)}, {fmt(y)}")
                for x, y in plot.population
            ]
            prot = {**protocol(plot.records, plot.values), **plot.protocol}
            figures.append(
                Figure(
                    id=figure_id(plot),
                    title=f"{plot.label} vs {plot.id_label}",
                    svg=scatter_plot(
                        population + scatter,
                        curves,
                        x_label=f"top-1 on {plot.id_label} (logit scale)",
                        y_label=f"top-1 on {plot.label}",
                        title=f"effective robustness: {plot.label}",
                        width=470,
                        height=400,
                    ),
                    protocol=prot,
                    rows=rows,
                    caption="Diamonds are supervised (fixed-head) classifiers, circles zero-shot models"
                    + ("; grey: the published baseline population." if population else "."),
                    entries=[p.entry for p in scatter],
                    group=plot.label,
                    notes=plot.notes,
                    tooltip=plot.spec,
                )
            )
        columns = ["model", "shift", "top-1 in distribution", "top-1 under shift", "effective robustness", "relative"]
        table = Table("effective-robustness-table", "Effective and relative robustness", columns, table_rows, owners)
        # every shift at once (a handful of plots): the reader compares them side by side
        return SectionContent(figures=figures, tables=[table], notes=notes)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        per_entry: dict[str, list[float]] = {}
        for plot in self.analyse(data)[0]:
            for p in plot.points:
                if p.er is not None and math.isfinite(p.er):
                    per_entry.setdefault(p.entry.id, []).append(p.er)
        if not per_entry:
            return []
        values = {k: MetricValue("effective_robustness", float(np.mean(v)), True) for k, v in per_entry.items()}
        return [SummaryColumn("effective robustness (mean over shifts)", values, "mean over the shifts with a trend")]
