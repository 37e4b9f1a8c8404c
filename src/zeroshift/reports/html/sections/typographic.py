"""Typographic attacks: class names written into the image (RoZ protocol), and benchmarks with words in the image.

Every condition whose record says ``kind == "typographic"`` is drawn here: the shifted runs (a random or the most
confusable wrong class name, and the correct name as the control) with their paired clean top-1 and the attack
success rate (the fraction predicted as the written class), and benchmarks whose images carry words.

Example:
    >>> TypographicSection.requires[0].note
    'on a typographic condition'

"""

from __future__ import annotations

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
from zeroshift.reports.html.sections.common import metric_series, of_kind, specs
from zeroshift.reports.html.svg import Point, dot_plot, fmt

#: the metrics of a typographic run, in table order
METRICS = ("top1", "clean_top1", "accuracy_drop", "attack_success_rate")
CLEAN = "clean (same images, no text)"


def _clean_label(data: ReportData, conditions: list) -> str:
    bases = {c.display_name for c in conditions if c.shift}
    return CLEAN if len(bases) <= 1 else f"{CLEAN[:-1]} of each benchmark)"


class TypographicSection(Section):
    """Top-1 with words in the image, against the same images without them, and how often the word wins."""

    name = "typographic"
    title = "Typographic attacks"
    order = 34
    description = (
        "Class names written into the image (Radford et al. 2021; RoZ, Wang et al. 2024): top-1 with a random or "
        "the most confusable wrong class name, and with the correct name as a control, against top-1 on the same "
        "images without text; the attack success rate is the fraction of images classified as the written class."
    )
    requires = (Requirement(M.PRIMARY, of_kind("typographic"), "on a typographic condition"),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """Top-1 with and without the written words, and how often the word wins (:func:`.findings.paired_drop`)."""
        conditions = data.conditions_with("accuracy_drop", of_kind("typographic"))
        names = {c: c.label.removeprefix("typographic: ") for c in conditions}
        return F.paired_drop(data, conditions, "Typographic attacks", "typographic-top1", self.name, names)

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, of_kind("typographic"))
        figures = []
        # top-1 under each condition, with the paired clean top-1 of the shifted runs as the first row
        clean = _clean_label(data, conditions)
        series = metric_series(data, M.PRIMARY, conditions)
        by_entry = {s.entry: s for s in series}
        has_clean = False
        for e in data.entries:
            for c in conditions:
                m = data.metric(e, c, "clean_top1")
                if m is not None and e.id in by_entry and clean not in by_entry[e.id].points:
                    by_entry[e.id].points[clean] = Point(m.value, m.ci_low, m.ci_high)
                    has_clean = True
        categories = ([clean] if has_clean else []) + [c.label for c in conditions]
        rows, records, values = [], [], []
        for e in data.entries:
            for c in conditions:
                for name in METRICS:
                    cell = data.cell(e, c, name)
                    if cell:
                        rows.append(row(e, c, name, cell.value))
                        records.append(cell.record)
                        values.append(cell.value)
        figures.append(
            Figure(
                id="typographic-top1",
                title="Top-1 with words in the image",
                svg=dot_plot(
                    categories,
                    series,
                    M.label(M.PRIMARY),
                    title="top-1 under typographic attacks",
                    tooltips={**specs(conditions), clean: "the shifted runs' paired clean top-1 (clean_top1)"},
                ),
                protocol=protocol(records, values, ("typographic",)),
                rows=rows,
                caption="The first row is top-1 on the same images without text (each attack's paired clean run); "
                "whiskers are 95% bootstrap intervals.",
                entries=[s.entry for s in series],
                wide=True,
                tooltip="; ".join(c.spec for c in conditions),
            )
        )
        asr = [c for c in conditions if data.conditions_with("attack_success_rate", lambda d, c=c: d == c)]
        if asr:
            lines = metric_series(data, "attack_success_rate", asr)
            figures.append(
                Figure(
                    id="typographic-attack-success",
                    title="Attack success rate: images classified as the written class",
                    svg=dot_plot(
                        [c.label for c in asr],
                        lines,
                        M.label("attack_success_rate"),
                        x_domain=(0.0, None),
                        title="typographic attack success rate",
                        tooltips=specs(asr),
                    ),
                    protocol=protocol(records, values, ("typographic",)),
                    rows=[r for r in rows if r["metric"] == "attack_success_rate"],
                    caption="Lower is better; with the correct name (the control) a high rate is the right answer.",
                    entries=[s.entry for s in lines],
                    wide=True,
                )
            )
        columns = ["model", "condition"] + [M.label(n) for n in METRICS]
        table_rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                vals = [data.metric(e, c, n) for n in METRICS]
                if not any(vals):
                    continue
                cells = [TableCell(e.label), TableCell(c.label, title=c.spec)]
                cells += [TableCell(fmt(v.value) if v else "-", v.value if v else None) for v in vals]
                table_rows.append(cells)
                owners.append(e.id)
        table = Table(slug("typographic", "table"), "Typographic attack metrics", columns, table_rows, owners)
        return SectionContent(figures=figures, tables=[table])

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        conditions = [
            c
            for c in data.conditions_with("attack_success_rate", of_kind("typographic"))
            if (c.info.get("shift_params") or {}).get("text") != "correct"
        ]
        if not conditions:
            return []
        c = max(conditions, key=lambda c: len(data.entries_with("attack_success_rate", c)))
        values = {e.id: m for e in data.entries if (m := data.metric(e, c, "attack_success_rate")) is not None}
        return [SummaryColumn(f"attack success · {c.label}", values, f"typographic attack success rate on {c.spec}")]
