"""OOD detection: AUROC and FPR@95TPR per score and OOD set, score histograms, and every metric in a table.

Metrics are named ``<score>_<metric>`` (see :mod:`~zeroshift.reports.html.measurements`); the convention (which
class is positive, score orientation) is taken from the records and shown next to each plot. Histograms are
drawn from ``details["histogram"] = {"edges", "id", "ood"}`` where the OOD group stores them.

Example:
    >>> import re
    >>> bool(re.fullmatch(OODSection.requires[0].pattern, "energy_fpr95"))
    True

"""

from __future__ import annotations

import math
import re

import numpy as np

from zeroshift.metrics.base import MetricValue
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
    point,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import RefLine, dot_plot, fmt, histogram_pair

#: score histograms drawn at most (the rest are in the data files)
MAX_HISTOGRAMS = 60


class OODSection(Section):
    """Out-of-distribution detection with each score the store holds."""

    name = "ood"
    title = "Out-of-distribution detection"
    order = 50
    description = (
        "How well each score separates in-distribution from OOD images: AUROC (0.5 is chance) and the false "
        "positive rate at 95% true positive rate, per OOD set and score (MSP, max-logit, energy, MCM, GL-MCM)."
    )
    requires = (Requirement(M.group_pattern("ood"), note="<score>_<metric>"),)

    def build(self, data: ReportData) -> SectionContent:
        found = data.cells(re.compile(M.group_pattern("ood")))
        conditions = list(dict.fromkeys(c for _, c, _, _ in found))
        scores = [s for s in M.ood_scores() if any(M.ood_metric(n)[0] == s for _, _, n, _ in found)]  # type: ignore[index]
        figures = []
        for metric in ("auroc", "fpr95"):
            cats, lines, rows, records, values = [], {}, [], [], []
            for c in conditions:
                for s in scores:
                    name = f"{s}_{metric}"
                    cat = f"{c.label} · {M.label(s)}"
                    for e in data.entries:
                        cell = data.cell(e, c, name)
                        p = point(cell.value if cell else None)
                        if p is None:
                            continue
                        if cat not in cats:
                            cats.append(cat)
                        lines.setdefault(e.id, entry_series(e)).points[cat] = p
                        rows.append(row(e, c, name, cell.value, score=s))
                        records.append(cell.record)
                        values.append(cell.value)
            if not cats:
                continue
            refs = [RefLine(0.5, "chance")] if metric == "auroc" else []
            figures.append(
                Figure(
                    id=slug("ood", metric),
                    title=f"{M.label(metric)} per OOD set and score",
                    svg=dot_plot(cats, list(lines.values()), x_label=M.label(metric), refs=refs, title=M.label(metric)),
                    protocol=protocol(records, values, ("ood",)),
                    rows=rows,
                    caption="Higher is better." if metric == "auroc" else "Lower is better.",
                    entries=list(lines),
                    wide=True,
                )
            )
        hist, groups = self._histograms(data, found)
        figures += hist
        return SectionContent(
            figures=figures,
            tables=[self._table(data, conditions, scores)],
            selector=("score", groups) if groups else None,
        )

    def _histograms(self, data: ReportData, found: list) -> tuple[list[Figure], list[str]]:
        figures, groups, seen = [], [], set()
        for e, c, name, cell in found:
            score, _ = M.ood_metric(name)  # type: ignore[misc]
            h = cell.value.details.get(M.OOD_HISTOGRAM)
            if (e.id, c, score) in seen or not isinstance(h, dict) or len(figures) >= MAX_HISTOGRAMS:
                continue
            edges, id_, ood = h.get("edges"), h.get("id"), h.get("ood")
            if not (isinstance(edges, list) and isinstance(id_, list) and isinstance(ood, list)):
                continue
            if not (len(edges) == len(id_) + 1 == len(ood) + 1 and len(id_) > 0):
                continue
            numbers = [*edges, *id_, *ood]
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers) or min(id_ + ood) < 0:
                continue
            seen.add((e.id, c, score))
            group = M.label(score)
            if group not in groups:
                groups.append(group)
            figures.append(
                Figure(
                    id=slug("ood-histogram", e.id, c.label, score),
                    title=f"{e.label} · {c.label}",
                    svg=histogram_pair(edges, id_, ood, ("in-distribution", "OOD"), f"{M.label(score)} score", e.id),
                    protocol=protocol([cell.record], [cell.value], ("ood",)),
                    rows=[
                        {
                            "model": e.model,
                            "condition": c.label,
                            "score": score,
                            "lo": edges[i],
                            "hi": edges[i + 1],
                            "id_count": id_[i],
                            "ood_count": ood[i],
                        }
                        for i in range(len(id_))
                    ],
                    entries=[e.id],
                    group=group,
                )
            )
        order = [M.label(s) for s in M.ood_scores()]
        return figures, sorted(groups, key=lambda g: order.index(g) if g in order else len(order))

    def _table(self, data: ReportData, conditions: list, scores: list[str]) -> Table:
        rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                for s in scores:
                    values = [data.metric(e, c, f"{s}_{m}") for m in M.OOD_METRICS]
                    if not any(values):
                        continue
                    cells = [TableCell(e.label), TableCell(c.label), TableCell(M.label(s))]
                    cells += [TableCell(fmt(v.value) if v else "-", v.value if v else None) for v in values]
                    rows.append(cells)
                    owners.append(e.id)
        columns = ["model", "OOD condition", "score"] + [M.label(m) for m in M.OOD_METRICS]
        return Table("ood-table", "OOD metrics", columns, rows, owners)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        for s in M.ood_scores():
            name = f"{s}_auroc"
            found = data.cells(name)
            if not found:
                continue
            per: dict[str, list[float]] = {}
            for e, _, _, cell in found:
                per.setdefault(e.id, []).append(cell.value.value)
            values = {k: MetricValue(name, float(np.mean(v)), True) for k, v in per.items()}
            return [SummaryColumn(f"OOD AUROC ({M.label(s)})", values, "mean over OOD sets")]
        return []
