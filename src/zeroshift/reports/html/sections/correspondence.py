"""3D awareness: geometric correspondence, PCK@0.10 of keypoint transfer by dense-feature matching, per model and
per bin (rotation, scale, viewpoint variation), one figure per correspondence benchmark (El Banani et al. 2024).

When the store holds models of two or more image-encoder families (``model_info.family``: CNN, ViT...), a second
figure per benchmark puts the families side by side (mean PCK@0.10 of each family's models, overall and per bin),
and a finding compares them (:func:`family_pck`).

Values are the ``correspondence`` group's ``pck@0.10`` and ``pck@0.10[bin=level]``; labels come from the group's
metric declarations, the protocol (matching, normaliser, upsampling, layer, geometry) from the records.

Example:
    >>> CorrespondenceSection.title
    '3D awareness: correspondence'

"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from zeroshift.metrics.correspondence import level_order, pck_metric_name
from zeroshift.metrics.group import metric_label
from zeroshift.reports.html.data import Condition, ReportData
from zeroshift.reports.html.findings import Finding
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
from zeroshift.reports.html.sections.common import (
    FAMILY_PROTOCOL,
    by_family,
    family_contrast,
    family_series,
    spread_point,
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


def family_pck(data: ReportData) -> dict[Condition, dict[str, dict[str, list[float]]]]:
    """Correspondence condition -> metric (``pck@0.10``, ``pck@0.10[bin=level]``) -> image-encoder family -> the
    values of its models (each model once, as the six-factor section picks it).

    Example:
        >>> from zeroshift.metrics.base import MetricValue
        >>> from zeroshift.results.schema import RunRecord
        >>> recs = [RunRecord.new(model=m, benchmark="factorworld_pairs(n=8)", shift=None, prompts="openai",
        ...                       label_space="none", model_info={"family": f},
        ...                       metrics=[MetricValue("pck@0.10", v, True)])
        ...         for m, f, v in (("zoo:a", "CNN", 0.2), ("zoo:b", "ViT", 0.5), ("zoo:c", "CNN", 0.4))]
        >>> [dict(per["pck@0.10"]) for per in family_pck(ReportData(recs)).values()]
        [{'CNN': [0.2, 0.4], 'ViT': [0.5]}]

    """
    out: dict[Condition, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    found = data.cells(PATTERN)
    for family, members in by_family(data).items():
        ids = {e.id for e in members}
        for e, c, name, cell in found:
            if e.id in ids and cell.value.value is not None and np.isfinite(cell.value.value):
                out[c][name].setdefault(family, []).append(float(cell.value.value))
    return {c: dict(per) for c, per in out.items()}


def _figure_id(data: ReportData, condition: Condition, suffix: str = "") -> str:
    conditions = list(dict.fromkeys(c for _, c, _, _ in data.cells(PATTERN)))
    return f"correspondence-{conditions.index(condition)}{suffix}"


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
                    id=_figure_id(data, condition),
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
            families = self._families(data, condition)
            if families is not None:
                figures.append(families)
        return SectionContent(figures=figures)

    def _families(self, data: ReportData, condition: Condition) -> Figure | None:
        """The image-encoder families side by side: mean PCK@0.10 of each family's models, overall and per bin."""
        per = family_pck(data).get(condition, {})
        families = sorted({f for by in per.values() for f in by})
        if len(families) < 2:
            return None
        names = sorted(per, key=_order)
        lines, rows, legend = [], [], []
        for k, family in enumerate(families):
            s = family_series(k, family)
            for name in names:
                values = per[name].get(family)
                if values:
                    s.points[metric_label(name)] = spread_point(values)
                    rows.append({"condition": condition.label, "family": family, "metric": name,
                                 "n_models": len(values), "mean": float(np.mean(values)), "min": float(min(values)),
                                 "max": float(max(values))})  # fmt: skip
            lines.append(s)
            legend.append((s.label, s.color))
        return Figure(
            id=_figure_id(data, condition, "-families"),
            title=f"{condition.label}: {metric_label(HEADLINE)} per bin by image-encoder family",
            svg=dot_plot([metric_label(n) for n in names], lines, metric_label(HEADLINE), title="PCK@0.10 by family"),
            protocol=dict(FAMILY_PROTOCOL),
            rows=rows,
            legend=legend,
            caption="Higher is better; whiskers span the family's models.",
            wide=True,
        )

    def findings(self, data: ReportData) -> list[Finding]:
        """Per correspondence benchmark with two or more families: which family's dense features transfer keypoints
        better, overall and in the bin where the families differ most.
        """
        out = []
        for condition, per in family_pck(data).items():
            contrast = family_contrast(per.get(HEADLINE, {}))
            if contrast is None:
                continue
            text = f"{condition.label}: keypoint transfer ({metric_label(HEADLINE)}) by image-encoder family: "
            text += contrast.listed()
            bins = {n: c for n in per if n != HEADLINE and (c := family_contrast(per[n])) is not None}
            widest = max(bins, key=lambda n: bins[n].spread, default=None)
            if widest is not None:
                text += f"; the families differ most in {metric_label(widest)}: {bins[widest].listed(contrast.means)}"
            text += f" ({contrast.verdict()})."
            out.append(
                Finding(
                    self.name,
                    text,
                    figure=_figure_id(data, condition, "-families"),
                    value=contrast.spread,
                    significant=contrast.significant,
                    details={
                        "condition": condition.label,
                        "pck": contrast.means,
                        "models": contrast.sizes,
                        "p": contrast.p,
                        "widest_bin": widest,
                    },  # fmt: skip
                )
            )
        return out

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        values: dict[str, Any] = {}
        for e, _, _, cell in data.cells(re.escape(HEADLINE)):
            values.setdefault(e.id, cell.value)  # the first correspondence benchmark of each entry
        return [SummaryColumn(metric_label(HEADLINE), values, "keypoint transfer within 0.10 x the normaliser")]


__all__ = ["CorrespondenceSection"]
