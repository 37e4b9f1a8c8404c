"""Shape bias (Geirhos et al. 2019) per model and per category, against the human reference.

Per-category values come from ``details["per_category"]`` of ``shape_bias`` (or metrics ``shape_bias_<category>``);
the human reference from the shape-bias analysis (``zeroshift.reports.shape_bias.human_reference``) over the
folder of human-response CSVs given to the report (``zeroshift report --humans DIR``).

Example:
    >>> ShapeBiasSection.requires[0].pattern
    'shape_bias'

"""

from __future__ import annotations

from typing import Any

from zeroshift.core.numeric import finite
from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.section import (
    Figure,
    Requirement,
    Section,
    SectionContent,
    SummaryColumn,
    point,
    protocol,
    row,
)
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import Point, RefLine, Series, dot_plot
from zeroshift.reports.shape_bias import human_reference as human_shape_bias


def human_reference(data: ReportData) -> tuple[Any, str]:
    """The human observers' reference (``.shape_bias``, ``.per_category``) from the folder of human responses
    given to the report, and why there is none.
    """
    folder = data.references.get("humans")
    if folder is None:
        return None, "pass the folder of human-response CSVs (zeroshift report --humans DIR) to draw humans"
    if "humans" not in data.memo:
        data.memo["humans"] = human_shape_bias(folder)
    ref = data.memo["humans"]
    if not _finite(getattr(ref, "shape_bias", None)):
        return None, "the human responses hold no cue-conflict trials with a shape or texture answer"
    return ref, ""


def _finite(v: Any) -> bool:
    return finite(v) is not None


def _category_point(v: Any) -> Point | None:
    if isinstance(v, dict):  # {"shape_bias": ..., "ci_low": ..., "ci_high": ...} (counts besides)
        value = v.get("shape_bias", v.get("value"))
        lo, hi = v.get("ci_low"), v.get("ci_high")
        if _finite(value):
            return Point(float(value), lo if _finite(lo) else None, hi if _finite(hi) else None)
        return None
    return Point(float(v)) if _finite(v) else None


def per_category(data: ReportData) -> dict[str, dict[str, Any]]:
    """Entry id -> category -> Point, from ``details["per_category"]`` of ``shape_bias``."""
    out: dict[str, dict[str, Any]] = {}
    for e, _, _, cell in data.cells(M.SHAPE_BIAS):
        details = cell.value.details.get("per_category")
        if isinstance(details, dict):
            for cat, v in details.items():
                p = _category_point(v)
                if p is not None:
                    out.setdefault(e.id, {})[str(cat)] = p
    return out


class ShapeBiasSection(Section):
    """Shape bias per model and per category, with the human reference line."""

    name = "shape_bias"
    title = "Shape bias"
    order = 60
    description = (
        "The fraction of shape decisions among shape-or-texture decisions on cue-conflict images (Geirhos et al. "
        "2019): 1 means purely shape-based, 0 purely texture-based. Humans are strongly shape-biased."
    )
    requires = (Requirement(M.SHAPE_BIAS),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.shape_bias`)."""
        return F.shape_bias(data)

    def build(self, data: ReportData) -> SectionContent:
        human, why = human_reference(data)
        refs = [RefLine(float(human.shape_bias), "humans", "#b00")] if human is not None else []
        notes = [f"No human reference: {why}."] if human is None else []
        found = data.cells(M.SHAPE_BIAS)
        conditions = list(dict.fromkeys(c for _, c, _, _ in found))
        lines: dict[str, Any] = {}
        for e, c, _, cell in found:
            p = point(cell.value)
            if p is not None:
                lines.setdefault(e.id, entry_series(e)).points[c.label] = p
        prot = protocol([c.record for *_, c in found], [c.value for *_, c in found], ("shape_bias",))
        if human is not None:
            prot["human reference"] = (
                f"{human.shape_bias:.3f}, pooled over the trials of {getattr(human, 'n_subjects', '?')} observers "
                f"(zeroshift.reports.shape_bias, from {getattr(human, 'source', '')})"
            )
        rows = [row(e, c, n, cell.value) for e, c, n, cell in found]
        if human is not None:
            rows.append({"model": "humans", "metric": "shape_bias", "value": float(human.shape_bias)})
        figures = [
            Figure(
                id="shape-bias",
                title="Shape bias per model",
                svg=dot_plot(
                    [c.label for c in conditions], list(lines.values()), "shape bias", refs=refs, title="shape bias"
                ),
                protocol=prot,
                rows=rows,
                entries=list(lines),
                notes=notes,
                wide=True,
            )
        ]
        cats = per_category(data)
        if cats:
            names = sorted({k for v in cats.values() for k in v})
            entries = {e.id: e for e in data.entries}
            series = []
            for eid, values in cats.items():
                s = entry_series(entries[eid])
                s.points = dict(values)
                series.append(s)
            legend = []
            human_cats = getattr(human, "per_category", None) if human is not None else None
            if isinstance(human_cats, dict) and human_cats:
                humans = Series("", "humans", "#b00", "", marker="diamond")
                humans.points = {str(k): Point(float(v)) for k, v in human_cats.items() if _finite(v) and k in names}
                series.append(humans)
                legend = [("humans", "#b00")]
            figures.append(
                Figure(
                    id="shape-bias-categories",
                    title="Shape bias per category",
                    svg=dot_plot(names, series, "shape bias", refs=refs, title="shape bias per category"),
                    protocol=prot,
                    rows=[
                        {
                            "model": entries[eid].model,
                            "prompts": entries[eid].prompts,
                            "category": k,
                            "shape_bias": p.y,
                            "ci_low": p.lo,
                            "ci_high": p.hi,
                        }
                        for eid, v in cats.items()
                        for k, p in v.items()
                    ]
                    + [
                        {"model": "humans", "category": k, "shape_bias": p.y}
                        for k, p in (humans.points.items() if legend else [])
                    ],
                    entries=list(cats),
                    legend=legend,
                    wide=True,
                )
            )
        return SectionContent(figures=figures)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        values = {e.id: cell.value for e, _, _, cell in data.cells(M.SHAPE_BIAS)}
        return [SummaryColumn("shape bias", values, "fraction of shape decisions on cue-conflict images")]
