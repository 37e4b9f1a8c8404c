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

from zeroshift.core.numeric import finite
from zeroshift.metrics.base import MetricValue
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
    point,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import in_distribution
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import RefLine, ScatterPoint, dot_plot, fmt, histogram_pair, scatter_plot

#: score histograms drawn at most (the rest are in the data files)
MAX_HISTOGRAMS = 60


#: the detection metrics as papers write them
METRIC_LABELS = {"auroc": "AUROC", "aupr_in": "AUPR-in", "aupr_out": "AUPR-out", "fpr95": "FPR@95TPR"}


def score_label(score: str) -> str:
    """The readable name of an OOD score (``MSP``, ``GL-MCM``), from the group's declaration."""
    return M.label(f"{score}_auroc").removesuffix(" AUROC")


def ood_vs_accuracy(data: ReportData, c: Condition) -> tuple[str, list[tuple[Entry, float, float]], str] | None:
    """(score, [(entry, in-distribution top-1, AUROC)], figure id) of an OOD condition, or None.

    The score is the one most models have on the condition (MSP first among equals), so every point uses the same.
    """
    ref = in_distribution(data, c)
    if ref is None:
        return None
    counts = {s: len(data.entries_with(f"{s}_auroc", c)) for s in M.ood_scores()}
    score = max(M.ood_scores(), key=lambda s: counts[s])
    if not counts[score]:
        return None
    points = []
    for e in data.entries_with(f"{score}_auroc", c):
        acc, auroc = data.metric(e, ref, M.PRIMARY), data.metric(e, c, f"{score}_auroc")
        if acc is not None and auroc is not None and finite(acc.value) is not None and finite(auroc.value) is not None:
            points.append((e, float(acc.value), float(auroc.value)))
    return (score, points, slug("ood", "vs", "accuracy", c.label)) if points else None


class OODSection(Section):
    """Out-of-distribution detection with each score the store holds."""

    name = "ood"
    title = "Out-of-distribution detection"
    order = 50
    description = (
        "How well each score separates in-distribution from OOD images, per OOD set and score (MSP, max-logit, "
        "energy, MCM, GL-MCM): AUROC (0.5 is chance), AUPR-out (average precision with OOD as the positive class, "
        "ImageNet-O's headline metric) and the false positive rate at 95% true positive rate; and whether a "
        "model's detection follows its in-distribution accuracy."
    )
    requires = (Requirement(M.group_pattern("ood"), note="<score>_<metric>"),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.ood`)."""
        return F.ood(data)

    def build(self, data: ReportData) -> SectionContent:
        found = data.cells(re.compile(M.group_pattern("ood")))
        conditions = list(dict.fromkeys(c for _, c, _, _ in found))
        scores = [s for s in M.ood_scores() if any(M.ood_metric(n)[0] == s for _, _, n, _ in found)]  # type: ignore[index]
        figures = []
        for metric in ("auroc", "aupr_out", "fpr95"):
            cats, lines, rows, records, values, tips = [], {}, [], [], [], {}
            for c in conditions:
                for s in scores:
                    name = f"{s}_{metric}"
                    cat = f"{c.label} · {score_label(s)}" if len(conditions) > 1 else score_label(s)
                    for e in data.entries:
                        cell = data.cell(e, c, name)
                        p = point(cell.value if cell else None)
                        if p is None:
                            continue
                        if cat not in cats:
                            cats.append(cat)
                        lines.setdefault(e.id, entry_series(e)).points[cat] = p
                        tips[cat] = c.spec
                        rows.append(row(e, c, name, cell.value, score=s))
                        records.append(cell.record)
                        values.append(cell.value)
            if not cats:
                continue
            refs = [RefLine(0.5, "chance")] if metric == "auroc" else []
            where = f" on {conditions[0].label}" if len(conditions) == 1 else " per OOD set"
            figures.append(
                Figure(
                    id=slug("ood", metric),
                    title=f"{METRIC_LABELS[metric]} per score{where}",
                    svg=dot_plot(
                        cats,
                        list(lines.values()),
                        x_label=METRIC_LABELS[metric],
                        refs=refs,
                        title=METRIC_LABELS[metric],
                        tooltips=tips,
                    ),  # fmt: skip
                    protocol=protocol(records, values, ("ood",)),
                    rows=rows,
                    caption="Lower is better." if metric == "fpr95" else "Higher is better.",
                    entries=list(lines),
                    wide=True,
                )
            )
        for c in conditions:
            fig = self._versus_accuracy(data, c)
            if fig is not None:
                figures.append(fig)
        hist, groups = self._histograms(data, found)
        figures += hist
        return SectionContent(
            figures=figures,
            tables=[self._table(data, conditions, scores)],
            selector=("score", groups) if groups else None,
        )

    def _versus_accuracy(self, data: ReportData, c: Condition) -> Figure | None:
        """OOD AUROC against in-distribution top-1, one point per model (the findings' correlation)."""
        found = ood_vs_accuracy(data, c)
        ref = in_distribution(data, c)
        if found is None or ref is None:
            return None
        score, points, fig_id = found
        auroc = f"{score_label(score)} AUROC"
        scatter = [
            ScatterPoint(
                e.id,
                e.label,
                e.color,
                acc,
                value,
                f"{e.label}\ntop-1 on {ref.label}: {fmt(acc)}\n{auroc}: {fmt(value)}",
                "diamond" if e.info.get("kind") == "fixed_head" else "circle",
            )
            for e, acc, value in points
        ]
        return Figure(
            id=fig_id,
            title=f"{auroc} on {c.label} against top-1 on {ref.label}",
            svg=scatter_plot(
                scatter,
                [],
                x_label=f"top-1 on {ref.label}",
                y_label=auroc,
                logit_axes=False,
                width=470,
                height=360,
                title=f"OOD detection against accuracy: {c.label}",
            ),
            protocol={
                **protocol(
                    [
                        x.record
                        for e, _, _ in points
                        for x in (data.cell(e, c, f"{score}_auroc"), data.cell(e, ref, M.PRIMARY))
                        if x
                    ],
                    protocol_keys=("ood",),
                ),
                "points": "one per model: top-1 on the in-distribution set, AUROC of the score on this OOD set",
                "score": f"{score} (the score most models have; MSP first)",
                "correlation": "Spearman's rank correlation across models, with a bootstrap over models "
                "(see the findings)",
            },
            rows=[
                {"model": e.model, "prompts": e.prompts, "top1_in_distribution": acc, f"{score}_auroc": value}
                for e, acc, value in points
            ],
            caption="Diamonds are supervised (fixed-head) classifiers, circles zero-shot models.",
            entries=[e.id for e, _, _ in points],
            tooltip=f"{c.spec} vs {ref.spec}",
            wide=True,
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
            group = score_label(score)
            if group not in groups:
                groups.append(group)
            figures.append(
                Figure(
                    id=slug("ood-histogram", e.id, c.label, score),
                    title=f"{e.label} · {c.label}",
                    tooltip=c.spec,
                    svg=histogram_pair(
                        edges, id_, ood, ("in-distribution", "OOD"), f"{score_label(score)} score", e.id
                    ),
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
        order = [score_label(s) for s in M.ood_scores()]
        return figures, sorted(groups, key=lambda g: order.index(g) if g in order else len(order))

    def _table(self, data: ReportData, conditions: list, scores: list[str]) -> Table:
        rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                for s in scores:
                    values = [data.metric(e, c, f"{s}_{m}") for m in M.OOD_METRICS]
                    if not any(values):
                        continue
                    cells = [TableCell(e.label), TableCell(c.label), TableCell(score_label(s))]
                    cells += [TableCell(fmt(v.value) if v else "-", v.value if v else None) for v in values]
                    rows.append(cells)
                    owners.append(e.id)
        columns = ["model", "OOD condition", "score"] + [METRIC_LABELS[m] for m in M.OOD_METRICS]
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
            return [SummaryColumn(f"OOD AUROC ({score_label(s)})", values, "mean over OOD sets")]
        return []
