"""Data overlap: the share of each benchmark's images found in a training corpus, and top-1 with and without.

Drawn from the ``overlap`` metric group's records (``overlap_rate``, ``overlap_top1_{all,clean,overlap}``, the
clean-minus-all difference, and the flag's recall and precision where the benchmark carries the ground truth).
Labels come from the group's metric declarations; the flag rule and the index each record used are in the plots'
protocol lines and in the table. Where the benchmark names an in-distribution set, effective robustness is
recomputed on the clean samples against the same trend as on all samples
(:func:`~zeroshift.overlap.contamination.effective_robustness_clean`; the trend of the effective-robustness section,
:func:`~zeroshift.reports.html.sections.effective_robustness.trend_for`). A few flagged pairs (the group's
``examples``) are shown as small thumbnails, found again by :func:`~zeroshift.overlap.pairs.locate_pair`; a pair
whose images are gone is shown by its ids.

Example:
    >>> import re
    >>> bool(re.fullmatch(OverlapSection.requires[0].pattern, "overlap_rate"))
    True

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zeroshift.core.numeric import finite
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
from zeroshift.reports.html.sections.common import in_distribution
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import ImagePair, Point, RefLine, dot_plot, fmt, image_pairs, thumbnail_uri

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


#: flagged pairs shown as thumbnails (over the whole section: the page stays small)
MAX_PAIRS = 6
#: the thumbnails' longest side in pixels
THUMBNAIL = 48


@dataclass
class CleanER:
    """One model's effective robustness on one overlap-checked condition, on all and on clean samples.

    ``er_all`` and ``er_clean`` are ``(ER, low, high)`` with the trend's 95% band; ``difference`` is clean minus
    all, with the paired bootstrap interval of top-1 clean minus all when both use the same in-distribution
    accuracy (the trend cancels out of the difference).

    Example:
        >>> r = CleanER("e0", "c", "FactorWorld", 0.8, 0.7, 0.6, (0.1, 0.0, 0.2), (0.0, -0.1, 0.1), -0.1, None, 4, "")
        >>> round(r.er_clean[0] - r.er_all[0], 3) == round(r.acc_clean - r.acc_all, 3)
        True

    """

    entry: Any
    condition: Any
    id_label: str
    acc_id: float
    acc_all: float
    acc_clean: float
    er_all: tuple[float, float, float]
    er_clean: tuple[float, float, float]
    difference: float
    difference_ci: tuple[float, float] | None
    n_overlap: int | None
    trend: str


def clean_effective_robustness(data: ReportData) -> tuple[list[CleanER], list[str]]:
    """Effective robustness on all and clean samples for every model and overlap-checked condition with a trend,
    and notes on the conditions without one (memoised per ReportData).

    Example:
        >>> clean_effective_robustness(ReportData([]))
        ([], [])

    """
    if "overlap_er" in data.memo:
        return data.memo["overlap_er"]
    from zeroshift.overlap.contamination import effective_robustness_clean
    from zeroshift.reports.html.sections.effective_robustness import trend_for

    out, notes = [], []
    for c in data.conditions_with("overlap_top1_clean"):
        ref = in_distribution(data, c)
        plot = trend_for(data, c) if ref is not None else None
        if plot is None:
            continue
        if plot.fit is None:
            notes.append(f"{c.label}: no effective robustness on all vs clean samples. " + " ".join(plot.notes))
            continue
        acc_ids = {p.entry.id: p.acc_id for p in plot.points}
        for e in data.entries:
            m = {n: data.metric(e, c, f"overlap_top1_{n}") for n in ("all", "clean", "clean_minus_all")}
            acc_id = acc_ids.get(e.id, getattr(data.metric(e, ref, M.PRIMARY), "value", None))
            if m["all"] is None or m["clean"] is None or finite(acc_id) is None:
                continue
            if finite(m["all"].value) is None or finite(m["clean"].value) is None:
                continue
            id_clean = data.metric(e, ref, "overlap_top1_clean")  # the in-distribution set may overlap too
            id_clean_value = finite(id_clean.value) if id_clean is not None else None
            er = effective_robustness_clean(plot.fit, acc_id, m["all"].value, m["clean"].value, id_clean_value)
            diff = m["clean_minus_all"]
            same_id = id_clean_value is None
            ci = (diff.ci_low, diff.ci_high) if same_id and diff is not None and finite(diff.ci_low) is not None \
                else None  # fmt: skip
            rate = data.metric(e, c, "overlap_rate")
            n_overlap = (rate.details or {}).get("n_overlap") if rate is not None else None
            out.append(CleanER(e, c, plot.id_label, float(acc_id), m["all"].value, m["clean"].value, er["all"],
                               er["clean"], er["clean_minus_all"], ci, n_overlap, plot.trend.source if plot.trend
                               else ""))  # fmt: skip
    data.memo["overlap_er"] = (out, notes)
    return out, notes


def _ci(value: object) -> str:
    lo, hi = getattr(value, "ci_low", None), getattr(value, "ci_high", None)
    return f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else ""


class OverlapSection(Section):
    """Overlap rates and top-1 on all, clean and overlapping samples, per model and benchmark."""

    name = "overlap"
    title = "Data overlap"
    order = 85
    description = (
        "How many evaluation images have a near-duplicate in a training corpus (nearest neighbour in the model's "
        "embedding above a calibrated cosine threshold, optionally confirmed by perceptual hash), and top-1 on "
        "every sample, on the clean (unflagged) and on the overlapping (flagged) samples. A clean-minus-all "
        "difference below zero means the overlap inflates the reported accuracy. Where the benchmark has an "
        "in-distribution set, effective robustness is recomputed on the clean samples against the same trend; a "
        "few flagged pairs are shown side by side."
    )
    requires = (Requirement("overlap_rate"),)

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with("overlap_rate")
        rows, notes = clean_effective_robustness(data)
        figures = [self._rates(data, conditions), self._subsets(data, conditions), self._effective(rows),
                   self._pairs(data, conditions)]  # fmt: skip
        return SectionContent(figures=[f for f in figures if f is not None], tables=[self._table(data, conditions)],
                              notes=notes)  # fmt: skip

    def findings(self, data: ReportData) -> list[Any]:
        """Per overlap-checked condition: the model whose score moves most without its flagged images (effective
        robustness where there is a trend, else top-1), with the paired interval of the difference.
        """
        from zeroshift.reports.html.findings import Finding

        rows, _ = clean_effective_robustness(data)
        out = []
        for c in data.conditions_with("overlap_top1_clean_minus_all"):
            mine = [r for r in rows if r.condition == c and finite(r.difference) is not None]
            if mine:
                r = max(mine, key=lambda r: abs(r.difference))
                ci = r.difference_ci
                flagged = f"its {r.n_overlap} flagged images" if r.n_overlap is not None else "the flagged images"
                text_ = (f"{c.label}: without {flagged}, {r.entry.label}'s effective robustness goes from "
                         f"{r.er_all[0]:+.3f} to {r.er_clean[0]:+.3f} (clean - all {r.difference:+.3f}"
                         f"{_ci_text(ci)}; against the trend of {r.trend}).")  # fmt: skip
                out.append(Finding(self.name, text_, slug("overlap", "effective-robustness"), r.difference, ci,
                                   _significant(ci), {"condition": c.label, "model": r.entry.label,
                                                      "er_all": r.er_all[0], "er_clean": r.er_clean[0]}))  # fmt: skip
                continue
            cells = [(e, cell) for e in data.entries if (cell := data.cell(e, c, "overlap_top1_clean_minus_all"))
                     and finite(cell.value.value) is not None]  # fmt: skip
            if not cells:
                continue
            e, cell = max(cells, key=lambda x: abs(x[1].value.value))
            v = cell.value
            ci = (v.ci_low, v.ci_high) if finite(v.ci_low) is not None and finite(v.ci_high) is not None else None
            rate = data.metric(e, c, "overlap_rate")
            share = f" ({fmt(rate.value)} of the images flagged)" if rate is not None else ""
            text_ = (f"{c.label}: without the flagged images{share}, {e.label}'s top-1 changes by {v.value:+.3f}"
                     f"{_ci_text(ci)} (clean - all).")  # fmt: skip
            out.append(Finding(self.name, text_, slug("overlap", "top1"), v.value, ci, _significant(ci),
                               {"condition": c.label, "model": e.label}))  # fmt: skip
        return out

    def _effective(self, rows: list[CleanER]) -> Figure | None:
        if not rows:
            return None
        cats, lines, out = [], {}, []
        for r in rows:
            for subset, er in (("all", r.er_all), ("clean", r.er_clean)):
                cat = f"{subset} · {r.condition.label}"
                if cat not in cats:
                    cats.append(cat)
                lines.setdefault(r.entry.id, entry_series(r.entry)).points[cat] = Point(*er)
            out.append({"model": r.entry.model, "prompts": r.entry.prompts, "condition": r.condition.label,
                        "in_distribution": r.id_label, "acc_id": r.acc_id, "top1_all": r.acc_all,
                        "top1_clean": r.acc_clean, "er_all": r.er_all[0], "er_all_ci_low": r.er_all[1],
                        "er_all_ci_high": r.er_all[2], "er_clean": r.er_clean[0], "er_clean_ci_low": r.er_clean[1],
                        "er_clean_ci_high": r.er_clean[2], "clean_minus_all": r.difference,
                        "clean_minus_all_ci_low": r.difference_ci[0] if r.difference_ci else None,
                        "clean_minus_all_ci_high": r.difference_ci[1] if r.difference_ci else None,
                        "trend": r.trend})  # fmt: skip
        trends = sorted({f"{r.condition.label} vs {r.id_label}: {r.trend}" for r in rows})
        return Figure(
            id=slug("overlap", "effective-robustness"),
            title="effective robustness on all and clean samples",
            svg=dot_plot(
                cats,
                list(lines.values()),
                x_label="effective robustness",
                x_domain=(None, None),
                refs=(RefLine(0.0, "trend"),),
                title="effective robustness",
            ),  # fmt: skip
            protocol={
                "definition": "top-1 under the condition minus the trend's expectation at the model's "
                "in-distribution top-1 (the same trend for all and clean samples; the in-distribution top-1 on its "
                "own clean samples where that set was checked too)",
                "trend": "; ".join(trends),
                "intervals": "the trend's 95% band; the difference clean - all (data files) has the paired "
                "bootstrap interval of top-1 clean - all",
            },
            rows=out,
            caption="Effective robustness from every sample and from the clean (unflagged) samples only; a model "
            "whose advantage shrinks on the clean samples owes part of it to the overlap.",
            entries=list(lines),
            wide=True,
        )

    def _pairs(self, data: ReportData, conditions: list) -> Figure | None:
        from zeroshift.overlap.pairs import locate_pair

        chosen: list[tuple[Any, Any, dict[str, Any], Any]] = []
        seen: set[tuple[Any, str]] = set()
        for c in conditions:
            for e in data.entries:
                cell = data.cell(e, c, "overlap_rate")
                overlap = ((cell.record.protocol or {}).get("overlap") or {}) if cell else {}
                for ex in overlap.get("examples") or []:
                    if len(chosen) < MAX_PAIRS and (c, str(ex.get("sample"))) not in seen:
                        seen.add((c, str(ex.get("sample"))))
                        chosen.append((e, c, ex, cell.record))
        if not chosen:
            return None
        pairs, rows, notes = [], [], []
        for e, c, ex, record in chosen:
            corpus = (((record.protocol.get("overlap") or {}).get("flags") or {}).get("index") or {}).get("corpus")
            found = locate_pair(record.benchmark, (record.config or {}).get("data_root"), str(ex.get("sample")),
                                corpus or {}, str(ex.get("neighbour")))  # fmt: skip
            notes += found.notes
            left = thumbnail_uri(found.evaluation, THUMBNAIL) if found.evaluation is not None else None
            right = thumbnail_uri(found.training, THUMBNAIL) if found.training is not None else None
            cosine = ex.get("cosine")
            tip = (f"{c.label}: {ex.get('sample')}\ntraining: {ex.get('neighbour')}\ncosine {fmt(cosine)} in "
                   f"{e.label}'s embedding" + (f", pHash distance {ex['hamming']}" if ex.get("hamming") is not None
                                               else ""))  # fmt: skip
            short = str(ex.get("sample")).rsplit("/", 1)[-1]  # the file name: a FactorWorld id, an image's name
            pairs.append(ImagePair(left, right, (f"cos {fmt(cosine)}", short), tip, e.id))
            rows.append({"model": e.model, "prompts": e.prompts, "condition": c.label, "sample": ex.get("sample"),
                         "neighbour": ex.get("neighbour"), "cosine": cosine, "hamming": ex.get("hamming"),
                         "found": left is not None and right is not None})  # fmt: skip
        return Figure(
            id=slug("overlap", "pairs"),
            title="flagged pairs: evaluation image and its nearest training image",
            svg=image_pairs(pairs, "flagged pairs", THUMBNAIL),
            rows=rows,
            caption="Left: the evaluation image as stored (before any shift); right: its nearest training image; "
            "the cosine in the flagging model's embedding, then the sample id (hover for both ids). A grey square: "
            "the image could not be found again.",
            notes=sorted(set(notes))[:3],
            wide=True,
        )

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
        return Table("overlap-table", "Data overlap", columns, rows, owners)


def _ci_text(ci: tuple[float, float] | None) -> str:
    return f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""


def _significant(ci: tuple[float, float] | None) -> bool | None:
    return None if ci is None else bool(ci[0] > 0 or ci[1] < 0)
