"""Corruption severity curves: top-1 against severity (0 = clean) for every corruption, one panel each.

Corrupted conditions are those whose records name a corruption (``condition["corruption"]``): on-the-fly shifts
(``corruption(name=..., severity=...)`` on any benchmark) and released corrupted images (ImageNet-C), each joining
the clean run of the benchmark whose images it shows (``condition["base"]``). Corruption errors, mCE and relative mCE
(Hendrycks & Dietterich 2019, AlexNet-normalised) come from :func:`zeroshift.reports.corruption.corruption_summary`.

Example:
    >>> CorruptionSection.requires[0].note
    'on a corrupted condition'

"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from zeroshift.core.numeric import finite
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.corruption import corruption_summary
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.section import (
    Figure,
    Requirement,
    Section,
    SectionContent,
    SummaryColumn,
    Table,
    TableCell,
    point,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import is_corrupted, series
from zeroshift.reports.html.svg import Panel, Point, RefLine, Series, dot_plot, fmt, line_grid


def _renamed(s: Series) -> Series:
    """The series with corruption names as the reader sees them (``gaussian noise``)."""
    return Series(s.entry, s.label, s.color, s.dash, {k.replace("_", " "): v for k, v in s.points.items()}, s.marker)


def _clean(data: ReportData, base: str, space: str) -> Condition | None:
    hits = [c for c in data.conditions if c.shift is None and c.benchmark == base]
    same = [c for c in hits if c.label_space == space]
    return (same or hits or [None])[0]


def grid(data: ReportData) -> dict[str, Any]:
    """Entry id -> clean benchmark -> corruption -> severity -> top-1 cell (severity 0: the clean benchmark)."""
    out: dict[str, Any] = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    bases: set[tuple[str, str]] = set()
    for c in data.conditions_with(M.PRIMARY, is_corrupted):
        name, severity = c.corruption  # type: ignore[misc]
        base = c.base
        bases.add((base, c.label_space))
        for e in data.entries_with(M.PRIMARY, c):
            out[e.id][base][name][severity] = data.cell(e, c, M.PRIMARY)
    for e in data.entries:
        for base, space in bases:
            clean = _clean(data, base, space)
            if clean is None or e.id not in out or base not in out[e.id]:
                continue
            cell = data.cell(e, clean, M.PRIMARY)
            if cell:
                for name in out[e.id][base]:
                    out[e.id][base][name].setdefault(0, cell)
    return out


def summaries(data: ReportData) -> tuple[dict[tuple[str, str], Any], str]:
    """(entry id, clean benchmark) -> the corruption analysis' summary, and why there is none (memoised)."""
    if "corruption_summary" not in data.memo:
        by_key: dict[tuple[str, str], Any] = {}
        for s in corruption_summary(data.records):
            entry = data.entry(s.model, s.prompts)
            if entry is not None:
                by_key[(entry.id, s.benchmark)] = s
        data.memo["corruption_summary"] = (by_key, "")
    return data.memo["corruption_summary"]


class CorruptionSection(Section):
    """Severity curves per corruption, mean accuracy per corruption, and CE / mCE when available."""

    name = "corruptions"
    title = "Corruptions"
    order = 30
    description = (
        "Top-1 accuracy under each ImageNet-C corruption at severities 1-5 (severity 0 is the clean benchmark; "
        "Hendrycks & Dietterich 2019), and corruption errors normalised by AlexNet's (mCE) where available."
    )
    requires = (Requirement(M.PRIMARY, is_corrupted, "on a corrupted condition"),)

    def build(self, data: ReportData) -> SectionContent:
        g = grid(data)
        entries = {e.id: e for e in data.entries}
        bases = sorted({b for per in g.values() for b in per})
        figures, selector = [], []
        for base in bases:
            names = sorted({n for per in g.values() for n in per.get(base, {})})
            severities = sorted({s for per in g.values() for sev in per.get(base, {}).values() for s in sev})
            base_label = self._base_label(data, base)
            panels, rows, records, values, drawn = [], [], [], [], set()
            for name in names:
                lines = []
                for eid, per in g.items():
                    cells = per.get(base, {}).get(name, {})
                    if not cells:
                        continue
                    s = series(entries[eid])
                    for sev, cell in sorted(cells.items()):
                        p = point(cell.value)
                        if p is not None:
                            s.points[sev] = p
                            rows.append(
                                row(entries[eid], None, M.PRIMARY, cell.value, base=base, corruption=name, severity=sev)
                            )
                            records.append(cell.record)
                            values.append(cell.value)
                    lines.append(s)
                    drawn.add(eid)
                panels.append(Panel(name.replace("_", " "), lines, f"{name} on {base}"))
            figures.append(
                Figure(
                    id=slug("corruption", base, "curves"),
                    title=f"Top-1 against severity, per corruption ({base_label})",
                    svg=line_grid(
                        severities,
                        panels,
                        x_label="severity (0: clean images)",
                        y_label="top-1",
                        title=f"corruption severity curves on {base_label}",
                        x_tick_labels={0: "clean"},
                    ),
                    protocol=protocol(records, values),
                    rows=rows,
                    caption="One panel per corruption, on the same axes; whiskers are 95% bootstrap intervals.",
                    entries=[e.id for e in data.entries if e.id in drawn],
                    group=base_label,
                    wide=True,
                    tooltip=base,
                )
            )
            figures.append(self._overview(data, g, base, names, base_label))
            selector.append(base_label)
        by_key, why = summaries(data)
        notes = [] if by_key else [f"Corruption errors and mCE are not shown: {why or 'no summary for this store'}."]
        ce_figure = self._ce_figure(data, by_key) if by_key else None
        if ce_figure is not None:
            figures.append(ce_figure)
        elif by_key:
            notes.append(
                "Corruption errors and mCE are not shown: no stored model has a corruption at all five severities "
                "(CE sums the error over severities 1-5)."
            )
        return SectionContent(
            figures=figures,
            tables=[self._ce_table(data, by_key)] if by_key else [],
            notes=notes,
            selector=("benchmark", selector) if len(selector) > 1 else None,
        )

    @staticmethod
    def _base_label(data: ReportData, base: str) -> str:
        """The readable name of the clean benchmark a corruption is applied to."""
        clean = [c for c in data.conditions if c.shift is None and c.benchmark == base and c.corruption is None]
        if clean:
            return clean[0].label
        shown = [c for c in data.conditions if c.base == base]
        return shown[0].display_name if shown else base

    def _overview(self, data: ReportData, g: dict[str, Any], base: str, names: list[str], base_label: str) -> Figure:
        entries = {e.id: e for e in data.entries}
        by_key, _ = summaries(data)
        lines, rows = [], []
        notes: dict[str, list[str]] = {}
        for eid, per in g.items():
            cells = per.get(base, {})
            if not cells:
                continue
            s = series(entries[eid])
            summary = by_key.get((eid, base))
            for name in names:
                accs = [c.value.value for sev, c in cells.get(name, {}).items() if sev > 0]
                if accs:
                    s.points[name] = Point(float(np.mean(accs)))
                    rows.append(
                        {
                            "model": entries[eid].model,
                            "prompts": entries[eid].prompts,
                            "base": base,
                            "corruption": name,
                            "mean_top1_over_severities": float(np.mean(accs)),
                            "severities": len(accs),
                            "ce": finite(summary.ce.get(name)) if summary else None,
                            "relative_ce": finite(summary.relative_ce.get(name)) if summary else None,
                        }
                    )
            if summary is not None:
                for n in summary.notes:
                    notes.setdefault(str(n), []).append(entries[eid].label)
            lines.append(s)
        return Figure(
            id=slug("corruption", base, "overview"),
            title=f"Mean top-1 over severities, per corruption ({base_label})",
            svg=dot_plot(
                [n.replace("_", " ") for n in names],
                [_renamed(s) for s in lines],
                x_label="mean top-1 over the severities run",
                title=f"corruptions on {base_label}",
            ),
            protocol={
                "average": "unweighted mean of top-1 over the severities present (1-5)",
                "CE": "sum over severities of the model's error / AlexNet's (from zeroshift.reports.corruption)",
            },
            rows=rows,
            entries=[s.entry for s in lines],
            group=base_label,
            tooltip=base,
            notes=[n if len(who) == len(lines) else f"{n} ({', '.join(who)})" for n, who in notes.items()],
            wide=True,
        )

    def _ce_figure(self, data: ReportData, by_key: dict[tuple[str, str], Any]) -> Figure | None:
        """The CE / mCE dot plot; None when no model has a single finite CE (e.g. only some severities stored)."""
        entries = {e.id: e for e in data.entries}
        names = sorted({n for s in by_key.values() for n in s.ce})
        lines, rows = [], []
        for (eid, base), s in sorted(by_key.items()):
            line = series(entries[eid])
            for n in names:
                if (ce := finite(s.ce.get(n))) is not None:
                    line.points[n] = Point(ce)
            if (mce := finite(s.mce)) is not None:
                line.points["mCE (15 common)"] = Point(mce)
            if line.points:
                lines.append(line)
            rows.append(
                {
                    "model": s.model,
                    "prompts": s.prompts,
                    "benchmark": base,
                    "mce": finite(s.mce),
                    "relative_mce": finite(s.relative_mce),
                    "comparable": bool(getattr(s, "comparable", False)),
                    **{f"ce_{n}": finite(s.ce.get(n)) for n in names},
                }
            )
        if not lines:
            return None
        categories = names + (["mCE (15 common)"] if any("mCE (15 common)" in ln.points for ln in lines) else [])
        lines = [_renamed(ln) for ln in lines]
        categories = [c.replace("_", " ") for c in categories]
        return Figure(
            id="corruption-errors",
            title="Corruption error per corruption (AlexNet = 1)",
            svg=dot_plot(
                categories,
                lines,
                "corruption error (lower is better)",
                x_domain=(0.0, None),
                refs=[RefLine(1.0, "AlexNet")],
                title="corruption errors",
            ),
            protocol={
                "CE": "sum over severities 1-5 of the top-1 error / the same sum for AlexNet (Hendrycks & Dietterich)",
                "mCE": "mean CE over the 15 common corruptions, only when all 15 x 5 conditions are stored",
                "source": "zeroshift.reports.corruption.corruption_summary",
            },
            rows=rows,
            entries=[ln.entry for ln in lines],
            wide=True,
        )

    def _ce_table(self, data: ReportData, by_key: dict[tuple[str, str], Any]) -> Table:
        rows, owners = [], []
        entries = {e.id: e for e in data.entries}
        for (eid, base), s in sorted(by_key.items()):
            mce, rel = finite(s.mce), finite(s.relative_mce)
            rows.append(
                [
                    TableCell(entries[eid].label),
                    TableCell(self._base_label(data, base), title=base),
                    TableCell(str(getattr(s, "source", ""))),
                    TableCell(fmt(mce), mce),
                    TableCell(fmt(rel), rel),
                    TableCell(str(len(s.ce)), len(s.ce)),
                    TableCell("yes" if getattr(s, "comparable", False) else "no"),
                ]
            )
            owners.append(eid)
        columns = [
            "model",
            "benchmark",
            "source",
            "mCE",
            "relative mCE",
            "corruptions with CE",
            "comparable to AlexNet",
        ]
        return Table("corruption-mce-table", "Corruption errors (mCE)", columns, rows, owners)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        g = grid(data)
        mean_acc: dict[str, MetricValue] = {}
        for eid, per in g.items():
            accs = [c.value.value for b in per.values() for sev in b.values() for s, c in sev.items() if s > 0]
            if accs:
                mean_acc[eid] = MetricValue("corruption_top1", float(np.mean(accs)), True)
        out = [SummaryColumn("top-1 under corruptions (mean)", mean_acc, "mean over corruptions and severities")]
        mce = {}
        for (eid, _), s in summaries(data)[0].items():
            value = finite(s.mce)
            if value is not None:
                mce[eid] = MetricValue("mce", value, False)
        if mce:
            out.append(SummaryColumn("mCE", mce, "AlexNet-normalised mean corruption error (lower is better)"))
        return out
