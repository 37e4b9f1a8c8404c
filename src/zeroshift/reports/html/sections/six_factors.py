"""The six factors (Tu et al.; Taori et al.): accuracy by architecture, training distribution, data size,
loss, fine-tuning and prompt set, from the model metadata stored with every record.

For each factor with at least two known values among the models, a plot shows, per condition, the mean top-1 of
each group (diamond) and the range of its models (whiskers). A selector on the page picks the factor. The group
means table adds the declared measurements of other perspectives (:data:`.measurements.FACTOR_MEASUREMENTS`:
image→text R@1, RSUM/6 and the modality gap on a clean retrieval set), and the ranges figure asks every headline
metric (:func:`.findings.headline_metrics`, those included) how far each factor moves it.

Example:
    >>> human_size(400_000_000), human_size(12_800)
    ('400M', '12.8k')

"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import GROUP_PALETTE, Entry, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.section import Figure, Requirement, Section, SectionContent, Table, TableCell
from zeroshift.reports.html.sections.accuracy import is_accuracy_condition
from zeroshift.reports.html.sections.common import specs
from zeroshift.reports.html.svg import Point, Series, dot_plot, fmt


def human_size(n: Any) -> str:
    """400000000 -> '400M' (text stays text)."""
    if isinstance(n, bool) or not isinstance(n, int | float):
        return str(n)
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:g}"


def members(data: ReportData, field: str) -> list[Entry]:
    """The entries a factor compares, each model counted once.

    For the prompt-set factor: every entry of the models evaluated with two or more prompt sets (the same
    models under each set). For the model factors: one entry per model, the one with the most measurements (the
    prompt set it was run with everywhere, not one tried on a single benchmark), then the prompt set most used in
    the store, so a model run with three prompt sets does not weigh three times.
    """
    by_model: dict[str, list[Entry]] = defaultdict(list)
    for e in data.entries:
        by_model[e.model].append(e)
    if field == "prompts":
        return [e for es in by_model.values() if len(es) > 1 for e in es]
    usage = Counter(e.prompts for e in data.entries)
    measured = {e.id: sum(len(data.names(e, c)) for c in data.conditions) for e in data.entries}
    return [max(es, key=lambda e: (measured[e.id], usage[e.prompts], e.prompts)) for es in by_model.values()]


def groups(data: ReportData, field: str) -> dict[str, list[Entry]]:
    """Known values of a factor -> the entries that have them (entries with unknown values left out)."""
    out: dict[str, list[Entry]] = defaultdict(list)
    for e in members(data, field):
        v = e.factor(field)
        if v is None or v == "" or v == "unknown":
            continue
        out[human_size(v) if field == "data_size" else str(v)].append(e)
    return dict(sorted(out.items()))


def group_values(
    data: ReportData, field: str, value: Callable[[Entry], float | None]
) -> dict[str, list[tuple[Entry, float]]]:
    """Known values of a factor -> (entry, value) of its models that have a value (groups without any left out).

    Example:
        >>> from zeroshift.results import RunRecord
        >>> from zeroshift.metrics import MetricValue
        >>> recs = [RunRecord.new(model=f"zoo:{m}", benchmark="b", shift=None, prompts="openai", label_space="full",
        ...                       model_info={"loss": loss}, metrics=[MetricValue("top1", v, True)])
        ...         for m, loss, v in (("a", "clip", 0.5), ("b", "siglip", 0.7), ("c", "clip", 0.4))]
        >>> data = ReportData(recs)
        >>> top1 = lambda e: data.metric(e, data.conditions[0], "top1").value
        >>> {g: [v for _, v in pairs] for g, pairs in group_values(data, "loss", top1).items()}
        {'clip': [0.5, 0.4], 'siglip': [0.7]}

    """
    out = {}
    for g, entries in groups(data, field).items():
        here = [(e, v) for e in entries if (v := value(e)) is not None]
        if here:
            out[g] = here
    return out


def measurement_breakdowns(data: ReportData) -> list[tuple[F.Headline, str, str, dict[str, list[tuple[Entry, float]]]]]:
    """(headline, factor, factor title, group values) of every declared six-factor measurement
    (:data:`.measurements.FACTOR_MEASUREMENTS`) and every factor that splits its models into two groups or more.

    Example:
        >>> measurement_breakdowns(ReportData([]))
        []

    """
    out = []
    for h in F.headline_metrics(data):
        if h.metric is None:
            continue
        for field, title in M.SIX_FACTORS:
            if field == "prompts" and h.prompt_free:
                continue
            found = group_values(data, field, h.value)
            if len(found) >= 2:
                out.append((h, field, title, found))
    return out


class SixFactorSection(Section):
    """Group comparisons over the six factors of the robustness literature."""

    name = "six_factors"
    title = "Six-factor comparison"
    order = 80
    description = (
        "Mean top-1 per group of models that share an architecture family, training distribution, training-set "
        "size, loss, fine-tuning status or prompt set; whiskers span the group's models. The ranges and the table "
        "add the headline metrics of the other perspectives (retrieval recall and the modality gap among them)."
    )
    requires = (Requirement(M.PRIMARY, is_accuracy_condition),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.six_factors`)."""
        return F.six_factors(data)

    def factors(self, data: ReportData) -> list[tuple[str, str]]:
        return [(f, title) for f, title in M.SIX_FACTORS if len(groups(data, f)) >= 2]

    def available(self, data: ReportData) -> bool:
        return super().available(data) and bool(self.factors(data))

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, is_accuracy_condition)
        figures, table_rows, selector = [], [], []
        for field, title in self.factors(data):
            lines, rows, legend = [], [], []
            for k, (value, members) in enumerate(groups(data, field).items()):
                color = GROUP_PALETTE[k % len(GROUP_PALETTE)]
                s = Series(f"group-{k}", f"{title} = {value}", color, "", marker="diamond")
                for c in conditions:
                    accs = [m.value for e in members if (m := data.metric(e, c, M.PRIMARY)) is not None]
                    if not accs:
                        continue
                    mean = float(np.mean(accs))
                    s.points[c.label] = Point(mean, float(min(accs)), float(max(accs)))
                    rows.append(
                        {
                            "factor": field,
                            "group": value,
                            "condition": c.label,
                            "n_models": len(accs),
                            "mean_top1": mean,
                            "min_top1": float(min(accs)),
                            "max_top1": float(max(accs)),
                            "models": "; ".join(e.label for e in members),
                        }
                    )
                    table_rows.append(
                        [
                            TableCell(title),
                            TableCell(value),
                            TableCell(M.label(M.PRIMARY)),
                            TableCell(c.label),
                            TableCell(str(len(accs)), len(accs)),
                            TableCell(fmt(mean), mean),
                            TableCell(f"{fmt(min(accs))}-{fmt(max(accs))}", min(accs)),
                        ]
                    )
                if s.points:
                    lines.append(s)
                    legend.append((f"{value} ({len(members)} model{'s' if len(members) > 1 else ''})", color))
            selector.append(title)
            figures.append(
                Figure(
                    id=slug("six-factors", field),
                    title=f"Top-1 by {title}",
                    svg=dot_plot(
                        [c.label for c in conditions],
                        lines,
                        "mean top-1 (whiskers: range over models)",
                        title=f"top-1 by {title}",
                        tooltips=specs(conditions),
                    ),
                    protocol={
                        "groups": f"model_info.{field}" if field != "prompts" else "the record's prompt set",
                        "aggregate": "unweighted mean of top-1 over the group's models; whiskers = min..max",
                        "unknown": "models whose value is unknown are left out",
                        "selection": "group means over every model in the store; the model selection does not "
                        "change them",
                        "models": "each model once, under the prompt set it has the most measurements with"
                        if field != "prompts"
                        else "models evaluated with two or more prompt sets",
                    },
                    rows=rows,
                    legend=legend,
                    group=title,
                    wide=True,
                )
            )
        for h, _field, title, found in measurement_breakdowns(data):
            for value, pairs in found.items():
                values = [v for _, v in pairs]
                table_rows.append(
                    [
                        TableCell(title),
                        TableCell(value),
                        TableCell(M.label(h.metric or "")),
                        TableCell(h.condition.label if h.condition else "-"),
                        TableCell(str(len(values)), len(values)),
                        TableCell(fmt(float(np.mean(values))), float(np.mean(values))),
                        TableCell(f"{fmt(min(values))}-{fmt(max(values))}", min(values)),
                    ]
                )
        columns = ["factor", "group", "metric", "condition", "models", "mean", "range"]
        table = Table("six-factors-table", "Group means", columns, table_rows, [None] * len(table_rows))
        ranges = self._ranges(data)
        return SectionContent(
            figures=([ranges] if ranges else []) + figures, tables=[table], selector=("factor", selector)
        )

    def _ranges(self, data: ReportData) -> Figure | None:
        """How far each factor moves each headline metric: the range of its group means (findings link here)."""
        from zeroshift.reports.html.findings import factor_effects

        effects = factor_effects(data)
        if not effects:
            return None
        metrics = list(dict.fromkeys(f.metric_label for f in effects))
        lines, rows, legend = [], [], []
        for k, (field, title) in enumerate(M.SIX_FACTORS):
            here = [f for f in effects if f.factor == field]
            if not here:
                continue
            color = GROUP_PALETTE[k % len(GROUP_PALETTE)]
            s = Series(f"factor-{field}", title, color, "", marker="diamond")
            for f in here:
                s.points[f.metric_label] = Point(f.spread)
                means = ", ".join(f"{g} {fmt(v)} ({f.sizes[g]})" for g, v in f.means.items())
                rows.append(
                    {
                        "metric": f.metric_label,
                        "factor": field,
                        "range_of_group_means": f.spread,
                        "permutation_p": f.p,
                        "exact": f.exact,
                        "group_means": means,
                    }
                )
            lines.append(s)
            legend.append((title, color))
        return Figure(
            id="six-factors-ranges",
            title="How far each factor moves each metric",
            svg=dot_plot(
                metrics, lines, "range of the group means (max - min)", x_domain=(0.0, None), title="factor ranges"
            ),
            protocol={
                "range": "max - min over the factor's groups of the mean over each group's models",
                "significance": "permutation test of the range: the models shuffled over the groups (group sizes "
                "kept), exact when there are at most 10,000 assignments, else 10,000 Monte-Carlo shuffles",
                "models": "each model once, under the prompt set it has the most measurements with (prompt set: models "
                "run with two or more)",
                "caveat": "the factors are not independent in a store (e.g. the supervised models also differ in "
                "training data): a range is an association, not an effect",
            },
            rows=rows,
            legend=legend,
            caption="One marker per factor and metric; the exact group means and p-values are in the data files "
            "and the findings.",
            wide=True,
        )
