r"""Visual factors: error ratio per factor of variation (ImageNet-X, Idrissi et al. 2023; FactorWorld's levels).

error ratio = (1 - accuracy on the images showing the factor) / (1 - overall accuracy): above 1, the factor
makes the model fail more often. Two sources:

* metrics ``top1[<factor>=<level>]`` with ``details["error_ratio"]`` (benchmarks with exact per-sample factor
  labels, such as FactorWorld): one plot per condition, one row per factor level;
* ImageNet-X: the analysis ``zeroshift.reports.imagenet_x.analyze_imagenet_x`` over the store's ImageNet runs
  that saved their samples, with the annotation folder given to the report (``zeroshift report --imagenet-x DIR``).

Example:
    >>> FactorSection.requires[0].note
    'top1[<factor>=<level>], or --imagenet-x DIR'

"""

from __future__ import annotations

from typing import Any

from zeroshift.core.numeric import finite
from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, ReportData
from zeroshift.reports.html.escape import slug
from zeroshift.reports.html.section import Figure, Requirement, Section, SectionContent, protocol, row
from zeroshift.reports.html.sections.accuracy import is_accuracy_condition
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import Point, RefLine, dot_plot
from zeroshift.reports.imagenet_x import analyze_imagenet_x


def imagenet_x(data: ReportData) -> tuple[list[Any], str]:
    """The ImageNet-X breakdowns of the store's runs, and why there are none (memoised)."""
    folder = data.references.get("imagenet_x")
    if folder is None or data.store is None:
        return [], ""
    if "imagenet_x" not in data.memo:
        data.memo["imagenet_x"] = (list(analyze_imagenet_x(data.store, folder)), "")
    return data.memo["imagenet_x"]


def figure_id(c: Condition) -> str:
    """The id of a condition's error-ratio plot (findings link to it)."""
    return slug("factors", c.label)


class FactorSection(Section):
    """Error ratio per visual factor, one plot per condition."""

    name = "factors"
    title = "Visual factors"
    order = 70
    description = (
        "Error ratio per factor of variation: the error on images showing the factor over the overall error "
        "(ImageNet-X, Idrissi et al. 2023). Above 1 the factor makes the model fail more often."
    )
    requires = (Requirement(M.factor_pattern().pattern, note="top1[<factor>=<level>], or --imagenet-x DIR"),)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """The sentences this section adds to the findings list (:func:`.findings.visual_factors`)."""
        return F.visual_factors(data)

    def available(self, data: ReportData) -> bool:
        return super().available(data) or bool(imagenet_x(data)[0])

    def build(self, data: ReportData) -> SectionContent:
        figures = self._levels(data)
        breakdowns, why = imagenet_x(data)
        notes = [f"ImageNet-X is not shown: {why}."] if why else []
        left_out = {c for _, c, _, _ in data.cells(M.factor_pattern()) if not is_accuracy_condition(c)}
        if left_out:
            notes.append(
                f"Per-factor accuracy under {len(left_out)} corrupted or attacked conditions is in the store "
                "(zeroshift results), not drawn here: their own sections show them."
            )
        if breakdowns:
            figures.append(self._imagenet_x(data, breakdowns))
        groups = [f.group for f in figures if f.group is not None]
        return SectionContent(figures=figures, notes=notes, selector=("condition", groups) if len(groups) > 1 else None)

    def _levels(self, data: ReportData) -> list[Figure]:
        found = [(e, c, n, cell) for e, c, n, cell in data.cells(M.factor_pattern()) if is_accuracy_condition(c)]
        figures = []
        conditions = list(dict.fromkeys(c for _, c, _, _ in found))
        # the per-factor split first (one factor varied at a time), then the others in page order
        conditions.sort(key=lambda c: (c.kind != "diagnostic", c.sort_key))
        for c in conditions:
            here = [(e, n, cell) for e, c2, n, cell in found if c2 == c]
            categories: list[str] = []
            lines: dict[str, Any] = {}
            rows = []
            for e, n, cell in here:
                m = M.factor_pattern().fullmatch(n)
                ratio = finite(cell.value.details.get("error_ratio"))
                cat = f"{m['factor']} = {m['level']}"  # type: ignore[index]
                if cat not in categories:
                    categories.append(cat)
                if ratio is not None:
                    lines.setdefault(e.id, entry_series(e)).points[cat] = Point(ratio)
                rows.append(
                    row(e, c, n, cell.value, factor=m["factor"], level=m["level"], error_ratio=ratio)  # type: ignore[index]
                )
            categories.sort()
            figures.append(
                Figure(
                    id=figure_id(c),
                    title=f"Error ratio per factor level on {c.label}",
                    svg=dot_plot(
                        categories,
                        list(lines.values()),
                        "error ratio",
                        x_domain=(0.0, None),
                        refs=[RefLine(1.0, "ratio 1")],
                        title=f"error ratios on {c.label}",
                    ),
                    protocol={
                        **protocol([cell.record for *_, cell in here], [cell.value for *_, cell in here]),
                        "error ratio": "(1 - top-1 on the level) / (1 - top-1 overall), from each metric's details",
                    },
                    rows=rows,
                    entries=list(lines),
                    wide=True,
                    group=c.label,
                    tooltip=c.spec,
                )
            )
        return figures

    def _imagenet_x(self, data: ReportData, breakdowns: list[Any]) -> Figure:
        lines: dict[str, Any] = {}
        factors: list[str] = []
        rows, records, prot = [], [], {}
        for b in breakdowns:
            entry = data.entry(b.record.model, b.record.prompts)
            if entry is None:
                continue
            records.append(b.record)
            prot = {k: str(v) for k, v in b.protocol.items() if not isinstance(v, dict)}
            for r in b.rows:
                ratio = finite(r.error_ratio)
                if r.factor not in factors:
                    factors.append(r.factor)
                lo, hi = (finite(x) for x in r.error_ratio_ci)
                if ratio is not None:
                    lines.setdefault(entry.id, entry_series(entry)).points[r.factor] = Point(ratio, lo, hi)
                rows.append(
                    {
                        "model": entry.model,
                        "prompts": entry.prompts,
                        "benchmark": b.record.benchmark,
                        "factor": r.factor,
                        "n": r.n,
                        "accuracy": finite(r.accuracy),
                        "error_ratio": ratio,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
        return Figure(
            id="factors-imagenet-x",
            title="ImageNet-X: error ratio per factor",
            svg=dot_plot(
                factors,
                list(lines.values()),
                "error ratio",
                x_domain=(0.0, None),
                refs=[RefLine(1.0, "ratio 1")],
                title="ImageNet-X error ratios",
            ),
            protocol={**protocol(records), **prot},
            rows=rows,
            entries=list(lines),
            wide=True,
        )
