"""Calibration: ECE per condition before and after temperature scaling, reliability diagrams, all metrics.

Reliability diagrams are drawn from the per-bin data the calibration group stores in ``ece.details["bins"]``
(confidence, accuracy and count of each bin); the bins and the temperature-scaling split are written next to
each plot from the records.

Example:
    >>> CalibrationSection.requires[0].pattern
    'ece'

"""

from __future__ import annotations

import math

from zeroshift.reports.html import findings as F
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
from zeroshift.reports.html.sections.common import in_distribution, metric_series
from zeroshift.reports.html.svg import dot_plot, fmt, reliability_diagram

#: reliability diagrams drawn at most (the rest are in the data files)
MAX_DIAGRAMS = 60


def _bins(value: object) -> list[dict]:
    """The drawable bins of a reliability diagram: numbers for edges, accuracy and confidence, and samples."""
    bins = getattr(value, "details", {}).get("bins") if value is not None else None
    if not isinstance(bins, list):
        return []
    keys = ("lo", "hi", "confidence", "accuracy", "count")
    return [
        b
        for b in bins
        if isinstance(b, dict)
        and all(isinstance(b.get(k), int | float) and math.isfinite(b[k]) for k in keys)
        and b["count"] > 0
    ]


class CalibrationSection(Section):
    """ECE by condition (and after temperature scaling), reliability diagrams and a table of every metric."""

    name = "calibration"
    title = "Calibration"
    order = 40
    description = (
        "Expected calibration error of the top-label confidence on every condition, before and after temperature "
        "scaling fitted on held-out in-distribution data, and reliability diagrams (accuracy per confidence bin)."
    )
    requires = (Requirement(M.RELIABILITY),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.calibration`)."""
        return F.calibration(data)

    def build(self, data: ReportData) -> SectionContent:
        figures = []
        for name, title in (
            (M.RELIABILITY, "ECE per condition"),
            (M.RELIABILITY + M.TS_SUFFIX, "ECE after temperature scaling"),
        ):
            conditions = data.conditions_with(name)
            if not conditions:
                continue
            series = metric_series(data, name, conditions)
            cells = [(e, c, data.cell(e, c, name)) for e in data.entries for c in conditions]
            cells = [(e, c, cell) for e, c, cell in cells if cell]
            figures.append(
                Figure(
                    id=slug("calibration", name),
                    title=title,
                    svg=dot_plot(
                        [c.label for c in conditions], series, x_label=M.label(name), x_domain=(0.0, None), title=title
                    ),
                    protocol=protocol(
                        [cell.record for *_, cell in cells], [cell.value for *_, cell in cells], ("calibration",)
                    ),
                    rows=[row(e, c, name, cell.value) for e, c, cell in cells],
                    caption="Lower is better; whiskers are 95% bootstrap intervals where the record has them.",
                    entries=[s.entry for s in series],
                    wide=True,
                )
            )
        diagrams, groups = self._diagrams(data)
        figures += diagrams
        return SectionContent(
            figures=figures, tables=[self._table(data)], selector=("condition", groups) if groups else None
        )

    def _diagrams(self, data: ReportData) -> tuple[list[Figure], list[str]]:
        figures, groups = [], []
        for c in data.conditions_with(M.RELIABILITY):
            for e in data.entries_with(M.RELIABILITY, c):
                cell = data.cell(e, c, M.RELIABILITY)
                bins = _bins(cell.value if cell else None)
                if not bins or len(figures) >= MAX_DIAGRAMS:
                    continue
                if c.label not in groups:
                    groups.append(c.label)
                figures.append(
                    Figure(
                        id=slug("reliability", e.id, c.label),
                        title=f"{e.label}",
                        svg=reliability_diagram(bins, e.color, e.id, f"{e.label} on {c.label}"),
                        protocol={
                            **protocol([cell.record], [cell.value], ("calibration",)),
                            "ECE": fmt(cell.value.value),
                        },
                        rows=[{"model": e.model, "prompts": e.prompts, "condition": c.label, **b} for b in bins],
                        caption="Bars: accuracy per confidence bin; shaded: the gap to the diagonal.",
                        entries=[e.id],
                        group=c.label,
                    )
                )
        return figures, groups

    def _table(self, data: ReportData) -> Table:
        names = [
            n
            for n in (*M.CALIBRATION, M.TEMPERATURE, *(n + M.TS_SUFFIX for n in M.CALIBRATION))
            if n in data.metric_names
        ]
        rows, owners = [], []
        for e in data.entries:
            for c in data.conditions_with(M.RELIABILITY):
                values = [data.metric(e, c, n) for n in names]
                if not any(values):
                    continue
                cells = [TableCell(e.label), TableCell(c.label)]
                cells += [TableCell(fmt(v.value) if v else "-", v.value if v else None) for v in values]
                rows.append(cells)
                owners.append(e.id)
        return Table(
            "calibration-table",
            "Calibration metrics",
            ["model", "condition"] + [M.label(n) for n in names],
            rows,
            owners,
        )

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        conditions = [c for c in data.conditions_with(M.RELIABILITY) if in_distribution(data, c) is None]
        values = {}
        for e in data.entries:
            for c in conditions:
                m = data.metric(e, c, M.RELIABILITY)
                if m is not None:
                    values[e.id] = m
                    break
        return (
            [SummaryColumn("ECE (in distribution)", values, "ECE on the first in-distribution condition")]
            if values
            else []
        )
