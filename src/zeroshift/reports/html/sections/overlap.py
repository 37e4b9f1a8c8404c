"""Train/test overlap: the share of each benchmark's images found in a training corpus, and top-1 with and without.

Drawn from the ``overlap`` metric group's records (``overlap_rate``, ``overlap_top1_{all,clean,overlap}``, the
clean-minus-all difference, and the flag's recall and precision where the benchmark carries the ground truth).
Labels come from the group's metric declarations; the flag rule and the index each record used are in the plots'
protocol lines and in the table.

Example:
    >>> import re
    >>> bool(re.fullmatch(OverlapSection.requires[0].pattern, "overlap_rate"))
    True

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
    Table,
    TableCell,
    point,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import dot_plot, fmt

#: the subsets top-1 is drawn on, in order
SUBSETS = ("all", "clean", "overlap")
#: the table's metric columns
COLUMNS = (
    "overlap_rate",
    "overlap_top1_all",
    "overlap_top1_clean",
    "overlap_top1_overlap",
    "overlap_top1_clean_minus_all",
    "overlap_flag_recall",
    "overlap_flag_precision",
)


def _ci(value: object) -> str:
    lo, hi = getattr(value, "ci_low", None), getattr(value, "ci_high", None)
    return f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else ""


class OverlapSection(Section):
    """Overlap rates and top-1 on all, clean and overlapping samples, per model and benchmark."""

    name = "overlap"
    title = "Train/test overlap"
    order = 85
    description = (
        "How many evaluation images have a near-duplicate in a training corpus (nearest neighbour in the model's "
        "embedding above a calibrated cosine threshold, optionally confirmed by perceptual hash), and top-1 on "
        "every sample, on the clean (unflagged) and on the overlapping (flagged) samples. A clean-minus-all "
        "difference below zero means the overlap inflates the reported accuracy."
    )
    requires = (Requirement("overlap_rate"),)

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with("overlap_rate")
        figures = [self._rates(data, conditions), self._subsets(data, conditions)]
        return SectionContent(figures=[f for f in figures if f is not None], tables=[self._table(data, conditions)])

    def _rates(self, data: ReportData, conditions: list) -> Figure | None:
        lines, rows, records, values = {}, [], [], []
        for c in conditions:
            for e in data.entries:
                cell = data.cell(e, c, "overlap_rate")
                p = point(cell.value if cell else None)
                if p is None:
                    continue
                lines.setdefault(e.id, entry_series(e)).points[c.label] = p
                rows.append(row(e, c, "overlap_rate", cell.value))
                records.append(cell.record)
                values.append(cell.value)
        if not rows:
            return None
        cats = [c.label for c in conditions]
        return Figure(
            id=slug("overlap", "rate"),
            title=f"{M.label('overlap_rate')} per benchmark",
            svg=dot_plot(cats, list(lines.values()), x_label=M.label("overlap_rate"), title=M.label("overlap_rate")),
            protocol=protocol(records, values, ("overlap",)),
            rows=rows,
            caption="Share of evaluation images flagged as near-duplicates of training images (lower is cleaner).",
            entries=list(lines),
            wide=True,  # often one benchmark: a one-row plot at half width is too flat to read
        )

    def _subsets(self, data: ReportData, conditions: list) -> Figure | None:
        cats, lines, rows, records, values = [], {}, [], [], []
        for c in conditions:
            for subset in SUBSETS:
                name = f"overlap_top1_{subset}"
                cat = f"{subset} · {c.label}"  # the subset first: long labels are cut at the end
                for e in data.entries:
                    cell = data.cell(e, c, name)
                    p = point(cell.value if cell else None)
                    if p is None:
                        continue
                    if cat not in cats:
                        cats.append(cat)
                    lines.setdefault(e.id, entry_series(e)).points[cat] = p
                    rows.append(row(e, c, name, cell.value, subset=subset))
                    records.append(cell.record)
                    values.append(cell.value)
        if not rows:
            return None
        return Figure(
            id=slug("overlap", "top1"),
            title="top-1 on all, clean and overlapping samples",
            svg=dot_plot(cats, list(lines.values()), x_label="top-1", title="top-1"),
            protocol=protocol(records, values, ("overlap",)),
            rows=rows,
            caption="Clean: samples not flagged; overlap: flagged samples. Intervals: percentile bootstrap.",
            entries=list(lines),
            wide=True,
        )

    def _table(self, data: ReportData, conditions: list) -> Table:
        rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                cells = {name: data.cell(e, c, name) for name in COLUMNS}
                if cells["overlap_rate"] is None:
                    continue
                flags = ((cells["overlap_rate"].record.protocol or {}).get("overlap") or {}).get("flags") or {}
                rule, index = flags.get("rule") or {}, flags.get("index") or {}
                corpus = index.get("corpus") or {}
                out = [TableCell(e.label), TableCell(c.label)]
                for name in COLUMNS:
                    cell = cells[name]
                    v = cell.value if cell else None
                    out.append(TableCell(fmt(v.value) + _ci(v) if v else "-", v.value if v else None))
                hamming = rule.get("max_hamming")
                out.append(TableCell(f"cos >= {rule.get('threshold')}" + (f", pHash <= {hamming}" if hamming else "")))
                out.append(TableCell(f"{corpus.get('root', '?')} ({(index.get('index') or {}).get('factory', '?')}, "
                                     f"{(index.get('counts') or {}).get('embedded', '?')} images)"))  # fmt: skip
                rows.append(out)
                owners.append(e.id)
        columns = ["model", "benchmark"] + [M.label(n) for n in COLUMNS] + ["flag rule", "training index"]
        return Table("overlap-table", "Train/test overlap", columns, rows, owners)
