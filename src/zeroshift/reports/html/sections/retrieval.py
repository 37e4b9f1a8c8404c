"""Image-text retrieval and the modality gap: recall@1 both ways per model, clean against each shift, and the gap.

Reads the ``retrieval`` and ``modality_gap`` groups' records (labels from their declarations). A shifted condition
is read against the clean run of its benchmark (the record's in-distribution set), so a text shift (typos) and an
image shift (fog) on the same retrieval set sit next to its clean recall. "Recall and gap against the six factors"
draws the group means of the declared six-factor measurements (image→text R@1, RSUM/6, the gap; see
:data:`.measurements.FACTOR_MEASUREMENTS`), the numbers the six-factor section's ranges and table break down.

Example:
    >>> RetrievalSection.requires[0].pattern
    'i2t_r1'
    >>> [label(n) for n in RECALL_COLUMNS[:2]]
    ['image→text R@1', 'image→text R@5']

"""

from __future__ import annotations

import numpy as np

from zeroshift.reports.html.data import GROUP_PALETTE, Condition, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.measurements import label
from zeroshift.reports.html.section import (
    Figure,
    Requirement,
    Section,
    SectionContent,
    SummaryColumn,
    Table,
    TableCell,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import in_distribution, metric_series
from zeroshift.reports.html.sections.six_factors import measurement_breakdowns
from zeroshift.reports.html.svg import Point, Series, dot_plot, fmt

#: the headline recall of each direction (the figures)
HEADLINE = ("i2t_r1", "t2i_r1")
#: the table's recall columns (every value the retrieval group gives by default)
RECALL_COLUMNS = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mean_recall")
#: the modality gap's figure and table columns
GAP = "gap_distance"
GAP_COLUMNS = ("gap_distance", "centroid_cosine", "matched_cosine", "random_cosine")


def _order(data: ReportData, name: str) -> list[Condition]:
    """Conditions with ``name``, each clean condition followed by its shifts."""
    conditions = data.conditions_with(name)
    clean = [c for c in conditions if c.shift is None]
    out: list[Condition] = []
    for c in clean:
        out.append(c)
        out.extend(s for s in conditions if s.shift is not None and in_distribution(data, s) == c)
    return out + [c for c in conditions if c not in out]


def _labels(conditions: list[Condition]) -> dict[Condition, str]:
    """Readable category labels (the records' condition label), the full label where two would coincide."""
    short = {c: str(c.info.get("label") or c.label) + ("" if c.shift else " (clean)") for c in conditions}
    seen = [short[c] for c in conditions]
    return {c: short[c] if seen.count(short[c]) == 1 else c.label for c in conditions}


def _series(data: ReportData, name: str, conditions: list[Condition], labels: dict[Condition, str]) -> list[Series]:
    out = []
    for s in metric_series(data, name, conditions):
        s.points = {labels[c]: s.points[c.label] for c in conditions if c.label in s.points}
        out.append(s)
    return out


def _cell(v: object) -> TableCell:
    if v is None:
        return TableCell("-")
    tip = f"95% interval [{fmt(v.ci_low)}, {fmt(v.ci_high)}]"  # type: ignore[attr-defined]
    return TableCell(fmt(v.value), v.value, tip)  # type: ignore[attr-defined]


def _against_factors(data: ReportData) -> Figure | None:
    """Recall and gap against the six factors: per group of models sharing a factor's value, the mean of each
    declared measurement (:data:`.measurements.FACTOR_MEASUREMENTS`) with the range of its models.
    """
    breakdowns = measurement_breakdowns(data)
    if not breakdowns:
        return None
    categories: list[str] = []
    series: dict[str, Series] = {}
    rows, legend = [], []
    for h, field, title, found in breakdowns:
        name = h.metric or ""
        if name not in series:
            color = GROUP_PALETTE[len(series) % len(GROUP_PALETTE)]
            series[name] = Series(slug("bridging", name), h.label, color, "", marker="diamond")
            legend.append((h.label, color))
        for group, pairs in found.items():
            category = f"{title} = {group}"
            if category not in categories:
                categories.append(category)
            values = [v for _, v in pairs]
            mean = float(np.mean(values))
            series[name].points[category] = Point(mean, min(values), max(values))
            rows.append(
                {
                    "metric": name,
                    "condition": h.condition.label if h.condition else None,
                    "factor": field,
                    "group": group,
                    "n_models": len(values),
                    "mean": mean,
                    "min": min(values),
                    "max": max(values),
                    "models": "; ".join(e.label for e, _ in pairs),
                }
            )
    return Figure(
        id="retrieval-six-factors",
        title="Recall and gap against the six factors",
        svg=dot_plot(
            categories,
            list(series.values()),
            "group mean (whiskers: range over models)",
            x_domain=(0.0, None),
            title="recall and gap against the six factors",
        ),  # fmt: skip
        protocol={
            "groups": "model_info of the records (architecture family, architecture, training data and size, loss, "
            "fine-tuning); the prompt set is not a factor here: retrieval scores the captions, not prompts",
            "condition": "each measurement on the clean retrieval set the most models were run on",
            "aggregate": "unweighted mean over the group's models, each model once; whiskers = min..max",
        },
        rows=rows,
        legend=legend,
        caption="One row per factor value with two or more values known; the range of the group means and its "
        "permutation p-value are in the six-factor section.",
        wide=True,
    )


class RetrievalSection(Section):
    """Recall@1 both ways per model and condition, the drop under each shift, and the modality gap."""

    name = "retrieval"
    title = "Modality bridging: image-text retrieval and the modality gap"
    order = 75
    description = (
        "Zero-shot image-text retrieval as CLIP_benchmark defines it: image→text R@k counts an image as found when "
        "any of its captions is among the k best captions, text→image R@k a caption when its image is among the k "
        "best images; 95% bootstrap intervals over images (captions resampled with their image). Each shift, of the "
        "images (corruptions) or of the captions (typos, dropped or shuffled words), is read against the clean run "
        "of the same set. The modality gap (Liang et al. 2022) is the distance between the centroids of the "
        "normalised image and text embeddings. Recall and gap against the six factors: their means per group of "
        "models that share an architecture, training data, data size, loss or fine-tuning."
    )
    requires = (Requirement("i2t_r1"),)

    def build(self, data: ReportData) -> SectionContent:
        figures = []
        for name in HEADLINE:
            conditions = _order(data, name)
            labels = _labels(conditions)
            series = _series(data, name, conditions, labels)
            records, values, rows = [], [], []
            for e in data.entries:
                for c in conditions:
                    cell = data.cell(e, c, name)
                    if cell:
                        records.append(cell.record)
                        values.append(cell.value)
                        rows.append(row(e, c, name, cell.value))
            figures.append(
                Figure(
                    id=slug("retrieval", name),
                    title=f"{label(name)} per model, clean and under each shift",
                    svg=dot_plot([labels[c] for c in conditions], series, x_label=label(name), title=label(name)),
                    protocol=protocol(records, values, ("retrieval",)),
                    rows=rows,
                    caption="Each marker is one model; whiskers are 95% bootstrap intervals over images.",
                    entries=[s.entry for s in series],
                    wide=True,
                )
            )
        gap_conditions = _order(data, GAP)
        if gap_conditions:
            gap_labels = _labels(gap_conditions)
            series = _series(data, GAP, gap_conditions, gap_labels)
            cells = [(e, c, data.cell(e, c, GAP)) for e in data.entries for c in gap_conditions]
            cells = [(e, c, cell) for e, c, cell in cells if cell]
            figures.append(
                Figure(
                    id=slug("retrieval", GAP),
                    title="The modality gap per model",
                    svg=dot_plot(
                        [gap_labels[c] for c in gap_conditions],
                        series,
                        x_label=label(GAP),
                        x_domain=(0.0, None),
                        title=label(GAP),
                    ),  # fmt: skip
                    protocol=protocol(
                        [cell.record for _, _, cell in cells], [cell.value for _, _, cell in cells], ("modality_gap",)
                    ),  # fmt: skip
                    rows=[row(e, c, GAP, cell.value) for e, c, cell in cells],
                    caption="||mean image embedding - mean text embedding|| on unit vectors (0: no gap; at most 2).",
                    entries=[s.entry for s in series],
                    wide=True,  # a few rows: at half width the labels are unreadable
                )
            )
        factors = _against_factors(data)
        if factors is not None:
            figures.append(factors)
        columns = ["model", "prompts", "benchmark", "shift"] + [label(n) for n in RECALL_COLUMNS]
        columns += [f"Δ {label('i2t_r1')}", f"Δ {label('t2i_r1')}"] + [label(n) for n in GAP_COLUMNS]
        table_rows, owners = [], []
        for e in data.entries:
            for c in _order(data, "i2t_r1"):
                if data.metric(e, c, "i2t_r1") is None:
                    continue
                cells = [
                    TableCell(e.label),
                    TableCell(e.prompts),
                    TableCell(c.benchmark),
                    TableCell(c.shift or "clean"),
                ]
                cells += [_cell(data.metric(e, c, n)) for n in RECALL_COLUMNS]
                clean = in_distribution(data, c) if c.shift else None
                for n in HEADLINE:
                    now, before = data.metric(e, c, n), data.metric(e, clean, n) if clean else None
                    drop = now.value - before.value if now and before else None
                    cells.append(TableCell(fmt(drop) if drop is not None else "-", drop, "shifted minus clean"))
                cells += [_cell(data.metric(e, c, n)) for n in GAP_COLUMNS]
                table_rows.append(cells)
                owners.append(e.id)
        table = Table(slug("retrieval", "table"), "All retrieval values", columns, table_rows, owners,
                      "Δ: the shifted condition's recall minus the clean run's, same model and prompts.")  # fmt: skip
        return SectionContent(figures=figures, tables=[table])

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        out = []
        for c in (c for c in data.conditions_with("i2t_r1") if c.shift is None):
            values = {e.id: m for e in data.entries if (m := data.metric(e, c, "i2t_r1")) is not None}
            name = _labels([c])[c]
            out.append(SummaryColumn(f"i→t R@1 · {name}", values, f"{label('i2t_r1')} on {c.label}"))
        return out
