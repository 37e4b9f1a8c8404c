"""3D awareness: geometric correspondence, PCK@0.10 of keypoint transfer by dense-feature matching, per model and
per bin (rotation, scale, viewpoint variation), one figure per correspondence benchmark (El Banani et al. 2024).

Values are the ``correspondence`` group's ``pck@0.10`` and ``pck@0.10[bin=level]``; labels come from the group's
metric declarations, the protocol (matching, normaliser, upsampling, layer, geometry) from the records.

Example:
    >>> CorrespondenceSection.title
    '3D awareness: correspondence'

"""

from __future__ import annotations

import re
from typing import Any

from zeroshift.metrics.correspondence import level_order, pck_metric_name
from zeroshift.metrics.group import metric_label
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
from zeroshift.reports.html.svg import dot_plot

#: the threshold the section draws (probe3d's headline)
ALPHA = 0.10
HEADLINE = pck_metric_name(ALPHA)
#: ``pck@0.10`` and ``pck@0.10[bin=level]``
PATTERN = re.compile(re.escape(HEADLINE) + r"(\[(?P<bin>[^=\]]+)=(?P<level>[^\]]+)\])?")


def _order(name: str) -> tuple[int, str, tuple[int, float, str]]:
    m = PATTERN.fullmatch(name)
    if m is None or m.group("bin") is None:
        return 0, "", (0, 0.0, "")
    return 1, m.group("bin"), level_order(m.group("level"))


def _settings(records: list[Any]) -> dict[str, str]:
    """The correspondence protocol entries worth showing next to the plot (layer, upsampling, normaliser...)."""
    seen: dict[str, list[str]] = {}
    for r in records:
        entry = (r.protocol or {}).get("correspondence") or {}
        dense = entry.get("dense") or {}
        pairs = entry.get("pairs") or {}
        for key, value in (
            ("dense features", f"{dense.get('source')} (layer {dense.get('layer')}, {dense.get('layers_are')})"),
            ("input", f"letterboxed to {dense.get('input_side')} px" if dense else None),
            ("matching", entry.get("matching")),
            ("upsampling", entry.get("upsample")),
            ("cell convention", entry.get("convention")),
            ("threshold", entry.get("threshold")),
            ("normaliser", pairs.get("normaliser")),
        ):
            if value is not None:
                seen.setdefault(key, [])
                if str(value) not in seen[key]:
                    seen[key].append(str(value))
    return {k: "; ".join(v) for k, v in seen.items()}


class CorrespondenceSection(Section):
    """PCK@0.10 per model, overall and per bin, for each correspondence benchmark."""

    name = "correspondence"
    title = "3D awareness: correspondence"
    order = 75
    description = (
        "How well dense features locate the same physical point in two views: each source keypoint's feature is "
        "matched to its nearest neighbour (cosine) in the target image's feature map, and PCK@0.10 is the fraction "
        "of keypoints landing within 0.10 x the normaliser (the object's box for SPair-71k, the image side for "
        "generated pairs) of the truth, overall and per bin of rotation, scale or viewpoint change "
        "(El Banani et al. 2024, probe3d)."
    )
    requires = (Requirement(re.escape(HEADLINE)),)

    def build(self, data: ReportData) -> SectionContent:
        found = data.cells(PATTERN)
        figures = []
        for condition in dict.fromkeys(c for _, c, _, _ in found):
            cells = [(e, c, n, cell) for e, c, n, cell in found if c == condition]
            names = sorted({n for _, _, n, _ in cells}, key=_order)
            labels = {n: metric_label(n) for n in names}
            lines: dict[str, Any] = {}
            for e, _, n, cell in cells:
                p = point(cell.value)
                if p is not None:
                    lines.setdefault(e.id, entry_series(e)).points[labels[n]] = p
            records = [cell.record for *_, cell in cells]
            prot = {**protocol(records), **_settings(records)}
            figures.append(
                Figure(
                    id=f"correspondence-{len(figures)}",
                    title=f"{condition.label}: {metric_label(HEADLINE)} per bin",
                    svg=dot_plot(
                        [labels[n] for n in names], list(lines.values()), metric_label(HEADLINE), title="PCK@0.10"
                    ),
                    protocol=prot,
                    rows=[row(e, c, n, cell.value) for e, c, n, cell in cells],
                    entries=list(lines),
                    caption="Higher is better; intervals are percentile bootstraps over pairs.",
                    wide=True,
                )
            )
        return SectionContent(figures=figures)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        values: dict[str, Any] = {}
        for e, _, _, cell in data.cells(re.escape(HEADLINE)):
            values.setdefault(e.id, cell.value)  # the first correspondence benchmark of each entry
        return [SummaryColumn(metric_label(HEADLINE), values, "keypoint transfer within 0.10 x the normaliser")]


__all__ = ["CorrespondenceSection"]
