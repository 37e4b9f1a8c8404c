"""Accuracy, grouped by kind of condition: in distribution, distribution shifts, diagnostic sets, other shifts.

Corruptions, typographic attacks and adversarial attacks have sections of their own; OOD sets have no labels.

Example:
    >>> AccuracySection.requires[0].pattern
    'top1'
    >>> [k for k in ACCURACY_KINDS][:2]
    ['in_distribution', 'natural_shift']

"""

from __future__ import annotations

from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import KIND_TITLES, Condition, ReportData
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
    row,
)
from zeroshift.reports.html.sections.common import metric_series, specs
from zeroshift.reports.html.svg import dot_plot, fmt

#: top-1 columns in the summary table at most
MAX_SUMMARY_CONDITIONS = 8
#: the kinds of condition this section draws, in order (the others have their own sections)
ACCURACY_KINDS = ["in_distribution", "natural_shift", "diagnostic", "synthetic", "unknown"]
#: the kinds whose top-1 goes into the summary table
SUMMARY_KINDS = ("in_distribution", "natural_shift", "unknown")
_TITLES = {
    "in_distribution": "Top-1 in distribution",
    "natural_shift": "Top-1 under distribution shifts",
    "diagnostic": "Top-1 on diagnostic sets",
    "synthetic": "Top-1 under synthetic shifts",
    "unknown": "Top-1 on other benchmarks",
}


def is_accuracy_condition(c: Condition) -> bool:
    """Whether the accuracy section draws the condition (not a corruption, attack or OOD set)."""
    return c.kind in ACCURACY_KINDS and c.corruption is None


class AccuracySection(Section):
    """Top-1 (and top-5, mean per-class recall) per kind of condition."""

    name = "accuracy"
    title = "Accuracy"
    order = 10
    description = (
        "Zero-shot (or fixed-head) top-1 accuracy with 95% bootstrap intervals, one plot per kind of condition: "
        "in distribution, distribution shifts (read them against the in-distribution set), diagnostic sets. "
        "Corruptions, typographic and adversarial attacks have their own sections."
    )
    requires = (Requirement(M.PRIMARY, is_accuracy_condition, "on a benchmark that is not a corruption or attack"),)

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, is_accuracy_condition)
        figures = []
        for kind in ACCURACY_KINDS:
            here = [c for c in conditions if c.kind == kind]
            if not here:
                continue
            series = metric_series(data, M.PRIMARY, here)
            rows, records, values = [], [], []
            for e in data.entries:
                for c in here:
                    cell = data.cell(e, c, M.PRIMARY)
                    if cell:
                        rows.append(row(e, c, M.PRIMARY, cell.value))
                        records.append(cell.record)
                        values.append(cell.value)
            title = _TITLES.get(kind, f"Top-1: {KIND_TITLES.get(kind, kind)}")
            figures.append(
                Figure(
                    id=slug("accuracy", "top1", kind),
                    title=title,
                    svg=dot_plot(
                        [c.label for c in here],
                        series,
                        x_label=M.label(M.PRIMARY),
                        title=title.lower(),
                        tooltips=specs(here),
                    ),
                    protocol=protocol(records, values),
                    rows=rows,
                    caption="One marker per model (colours as in the model list); whiskers are 95% bootstrap "
                    "intervals.",
                    entries=[s.entry for s in series],
                    wide=True,
                    tooltip="; ".join(c.spec for c in here),
                )
            )
        columns = ["model", "prompts", "kind", "condition", "label space"] + [M.label(n) for n in M.ACCURACY]
        table_rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                values_ = [data.metric(e, c, n) for n in M.ACCURACY]
                if not any(values_):
                    continue
                cells = [
                    TableCell(e.label),
                    TableCell(e.prompts),
                    TableCell(KIND_TITLES.get(c.kind, c.kind)),
                    TableCell(c.label, title=c.spec),
                    TableCell(c.label_space),
                ]
                for v in values_:
                    text_ = fmt(v.value) if v else "-"
                    tip = f"95% interval [{fmt(v.ci_low)}, {fmt(v.ci_high)}]" if v else ""
                    cells.append(TableCell(text_, v.value if v else None, tip))
                table_rows.append(cells)
                owners.append(e.id)
        table = Table(slug("accuracy", "table"), "All accuracy values", columns, table_rows, owners)
        return SectionContent(figures=figures, tables=[table])

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        conditions = data.conditions_with(M.PRIMARY, lambda c: is_accuracy_condition(c) and c.kind in SUMMARY_KINDS)
        # the summary stays readable: the conditions most models were run on (every one is in the table below)
        counts = {c: len(data.entries_with(M.PRIMARY, c)) for c in conditions}
        keep = set(sorted(conditions, key=lambda c: -counts[c])[:MAX_SUMMARY_CONDITIONS])
        out = []
        for c in (c for c in conditions if c in keep):
            values = {e.id: m for e in data.entries if (m := data.metric(e, c, M.PRIMARY)) is not None}
            out.append(SummaryColumn(f"top-1 · {c.label}", values, f"top-1 accuracy on {c.spec}"))
        return out
