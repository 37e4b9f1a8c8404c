"""Accuracy on every benchmark and shift that is not a corruption: top-1 with its bootstrap interval.

Example:
    >>> AccuracySection.requires[0].pattern
    'top1'

"""

from __future__ import annotations

from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import ReportData
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
from zeroshift.reports.html.sections.common import is_natural, metric_series
from zeroshift.reports.html.svg import dot_plot, fmt

#: top-1 columns in the summary table at most
MAX_SUMMARY_CONDITIONS = 8


class AccuracySection(Section):
    """Top-1 (and top-5, mean per-class recall) per benchmark and shift."""

    name = "accuracy"
    title = "Accuracy across benchmarks and shifts"
    order = 10
    description = (
        "Zero-shot (or fixed-head) top-1 accuracy on every benchmark and non-corruption shift in the store, "
        "with 95% bootstrap intervals. Natural distribution shifts are read against the in-distribution set."
    )
    requires = (Requirement(M.PRIMARY, is_natural, "on a benchmark that is not a corruption"),)

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, is_natural)
        series = metric_series(data, M.PRIMARY, conditions)
        labels = [c.label for c in conditions]
        rows, records, values = [], [], []
        for e in data.entries:
            for c in conditions:
                cell = data.cell(e, c, M.PRIMARY)
                if cell:
                    rows.append(row(e, c, M.PRIMARY, cell.value))
                    records.append(cell.record)
                    values.append(cell.value)
        fig = Figure(
            id="accuracy-top1",
            title="Top-1 accuracy per benchmark",
            svg=dot_plot(labels, series, x_label=M.label(M.PRIMARY), title="top-1 accuracy per benchmark"),
            protocol=protocol(records, values),
            rows=rows,
            caption="Each marker is one model (colour as in the legend); whiskers are 95% bootstrap intervals.",
            entries=[s.entry for s in series],
            wide=True,
        )
        columns = ["model", "prompts", "benchmark", "shift", "label space"] + [M.label(n) for n in M.ACCURACY]
        table_rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                values_ = [data.metric(e, c, n) for n in M.ACCURACY]
                if not any(values_):
                    continue
                cells = [
                    TableCell(e.label),
                    TableCell(e.prompts),
                    TableCell(c.benchmark),
                    TableCell(c.shift or "clean"),
                ]
                cells.append(TableCell(c.label_space))
                for v in values_:
                    text_ = fmt(v.value) if v else "-"
                    tip = f"95% interval [{fmt(v.ci_low)}, {fmt(v.ci_high)}]" if v else ""
                    cells.append(TableCell(text_, v.value if v else None, tip))
                table_rows.append(cells)
                owners.append(e.id)
        table = Table(slug("accuracy", "table"), "All accuracy values", columns, table_rows, owners)
        return SectionContent(figures=[fig], tables=[table])

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        conditions = data.conditions_with(M.PRIMARY, is_natural)
        # the summary stays readable: the conditions most models were run on (every one is in the table below)
        counts = {c: len(data.entries_with(M.PRIMARY, c)) for c in conditions}
        keep = set(sorted(conditions, key=lambda c: -counts[c])[:MAX_SUMMARY_CONDITIONS])
        out = []
        for c in (c for c in conditions if c in keep):
            values = {e.id: m for e in data.entries if (m := data.metric(e, c, M.PRIMARY)) is not None}
            out.append(SummaryColumn(f"top-1 · {c.label}", values, f"top-1 accuracy on {c.label}"))
        return out
