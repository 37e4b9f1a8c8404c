"""The six factors (Tu et al.; Taori et al.): accuracy by architecture, training distribution, data size,
loss, fine-tuning and prompt set, from the model metadata stored with every record.

For each factor with at least two known values among the models, a plot shows, per condition, the mean top-1 of
each group (diamond) and the range of its models (whiskers). A selector on the page picks the factor.

Example:
    >>> human_size(400_000_000), human_size(12_800)
    ('400M', '12.8k')

"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import PALETTE, Entry, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.section import Figure, Requirement, Section, SectionContent, Table, TableCell
from zeroshift.reports.html.sections.common import is_natural
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
    models under each set). For the model factors: one entry per model, under the prompt set most used in the
    store among its entries, so a model run with three prompt sets does not weigh three times.
    """
    by_model: dict[str, list[Entry]] = defaultdict(list)
    for e in data.entries:
        by_model[e.model].append(e)
    if field == "prompts":
        return [e for es in by_model.values() if len(es) > 1 for e in es]
    usage = Counter(e.prompts for e in data.entries)
    return [max(es, key=lambda e: (usage[e.prompts], e.prompts)) for es in by_model.values()]


def groups(data: ReportData, field: str) -> dict[str, list[Entry]]:
    """Known values of a factor -> the entries that have them (entries with unknown values left out)."""
    out: dict[str, list[Entry]] = defaultdict(list)
    for e in members(data, field):
        v = e.factor(field)
        if v is None or v == "" or v == "unknown":
            continue
        out[human_size(v) if field == "data_size" else str(v)].append(e)
    return dict(sorted(out.items()))


class SixFactorSection(Section):
    """Group comparisons over the six factors of the robustness literature."""

    name = "six_factors"
    title = "Six-factor comparison"
    order = 80
    description = (
        "Mean top-1 per group of models that share an architecture family, training distribution, training-set "
        "size, loss, fine-tuning status or prompt set; whiskers span the group's models."
    )
    requires = (Requirement(M.PRIMARY, is_natural),)

    def factors(self, data: ReportData) -> list[tuple[str, str]]:
        return [(f, title) for f, title in M.SIX_FACTORS if len(groups(data, f)) >= 2]

    def available(self, data: ReportData) -> bool:
        return super().available(data) and bool(self.factors(data))

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, is_natural)
        figures, table_rows, selector = [], [], []
        for field, title in self.factors(data):
            lines, rows, legend = [], [], []
            for k, (value, members) in enumerate(groups(data, field).items()):
                color = PALETTE[k % len(PALETTE)]
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
                    ),
                    protocol={
                        "groups": f"model_info.{field}" if field != "prompts" else "the record's prompt set",
                        "aggregate": "unweighted mean of top-1 over the group's models; whiskers = min..max",
                        "unknown": "models whose value is unknown are left out",
                        "models": "each model once, under its most used prompt set"
                        if field != "prompts"
                        else "models evaluated with two or more prompt sets",
                    },
                    rows=rows,
                    legend=legend,
                    group=title,
                    wide=True,
                )
            )
        columns = ["factor", "group", "condition", "models", "mean top-1", "range"]
        table = Table("six-factors-table", "Group means", columns, table_rows, [None] * len(table_rows))
        return SectionContent(figures=figures, tables=[table], selector=("factor", selector))
