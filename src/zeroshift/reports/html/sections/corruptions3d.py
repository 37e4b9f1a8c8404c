"""3D common corruptions (Kar et al. 2022) next to the 2D ImageNet-C corruption each resembles.

3D conditions are those whose records carry ``condition["corruption3d"]`` (kind ``corruption3d``): the on-the-fly
shift ``corruption3d(name=..., severity=..., depth=...)`` on any benchmark and the released ImageNet-3DCC images.
They are a kind of their own, so the ImageNet-C corruption section, its summary and mCE, and effective robustness
never mix them in. Per clean benchmark this section draws the top-1 of every 3D corruption against severity (0 = the
clean run) and, per 3D corruption, its mean top-1 over the stored severities next to the same mean for the 2D
corruption it resembles (``resembles`` in ``corruption3d.yaml``) on the same benchmark, when the store holds it.
When the store holds models of two or more image-encoder families (``model_info.family``: CNN, ViT...), a figure
puts the families side by side: each family's mean top-1 drop from the clean run under each 3D corruption and its
2D counterpart, and a finding compares the families' drops (:func:`family_drops`).

Example:
    >>> Corruption3DSection.requires[0].note
    'on a 3D-corrupted condition'

"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, ReportData, readable_parts
from zeroshift.reports.html.escape import slug
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
    is_corrupted,
    series,
    spread_point,
)
from zeroshift.reports.html.svg import Point, dot_plot, line_plot


def corruption3d(c: Condition) -> tuple[str, int, Any] | None:
    """``(name, severity, depth source)`` of a 3D-corrupted condition, else None.

    Example:
        >>> c = Condition("factorworld(n=8, seed=0)", "x", "native",
        ...               {"corruption3d": {"name": "fog_3d", "severity": 3, "depth": "factorworld"}})
        >>> corruption3d(c)
        ('fog_3d', 3, 'factorworld')

    """
    info = c.info.get("corruption3d")
    return (str(info["name"]), int(info["severity"]), info.get("depth")) if info else None


def is_corrupted3d(c: Condition) -> bool:
    """Whether the condition is a 3D corruption."""
    return corruption3d(c) is not None


def _base_label(data: ReportData, base: str) -> str:
    """The readable name of a clean benchmark (a condition on it says it), never its spec string."""
    for c in data.conditions:
        if c.base == base:
            return readable_parts(c)[0]
    return base.split("(", 1)[0]


def _resembles(name: str) -> str | None:
    from zeroshift.shifts.corruption3d import definition

    try:
        return definition(name).resembles
    except Exception:  # a record of a corruption this installation does not know
        return None


def grid3d(data: ReportData) -> dict[str, Any]:
    """Entry id -> clean benchmark -> 3D corruption -> severity -> top-1 cell (severity 0: the clean run)."""
    out: dict[str, Any] = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for c in data.conditions_with(M.PRIMARY, is_corrupted3d):
        name, severity, _ = corruption3d(c)  # type: ignore[misc]
        for e in data.entries_with(M.PRIMARY, c):
            out[e.id][c.base][name][severity] = data.cell(e, c, M.PRIMARY)
    for e in data.entries:
        for base in list(out.get(e.id, {})):
            clean = [c for c in data.conditions if c.shift is None and c.base == base]
            cell = next((data.cell(e, c, M.PRIMARY) for c in clean if data.cell(e, c, M.PRIMARY)), None)
            if cell:
                for name in out[e.id][base]:
                    out[e.id][base][name].setdefault(0, cell)
    return out


def mean_2d(data: ReportData) -> dict[tuple[str, str, str], float]:
    """(entry id, clean benchmark, 2D corruption) -> mean top-1 over its stored severities 1-5."""
    accs: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for c in data.conditions_with(M.PRIMARY, is_corrupted):
        name, _ = c.corruption  # type: ignore[misc]
        for e in data.entries_with(M.PRIMARY, c):
            cell = data.cell(e, c, M.PRIMARY)
            if cell is not None and cell.value.value is not None:
                accs[(e.id, c.base, name)].append(float(cell.value.value))
    return {k: float(np.mean(v)) for k, v in accs.items()}


def model_drops(data: ReportData) -> dict[tuple[str, str], dict[str, float]]:
    """(entry id, clean benchmark) -> category -> top-1 drop from the clean run.

    Categories are ``"<3D corruption> (3D)"`` (clean top-1 minus the mean top-1 over the stored severities 1-5)
    and ``"<2D corruption> (2D)"`` for the ImageNet-C corruption each resembles, likewise, when the store holds it
    on the same clean benchmark. Entries without a clean run have no drops.
    """
    two_d = mean_2d(data)
    out: dict[tuple[str, str], dict[str, float]] = {}
    for eid, per in grid3d(data).items():
        for base, names in per.items():
            drops: dict[str, float] = {}
            for name, cells in names.items():
                if 0 not in cells or cells[0].value.value is None:
                    continue
                clean = float(cells[0].value.value)
                accs = [float(c.value.value) for sev, c in cells.items() if sev > 0 and c.value.value is not None]
                if accs:
                    drops[f"{name} (3D)"] = clean - float(np.mean(accs))
                other = _resembles(name)
                if other is not None and (eid, base, other) in two_d:
                    drops[f"{other} (2D)"] = clean - two_d[(eid, base, other)]
            if drops:
                out[(eid, base)] = drops
    return out


def family_drops(data: ReportData) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Clean benchmark -> category (as :func:`model_drops`) -> image-encoder family -> its models' drops.

    Example:
        >>> from zeroshift.results.schema import RunRecord
        >>> def rec(model, family, shift, top1):
        ...     return RunRecord.new(model=model, benchmark="factorworld(n=8)", shift=shift, prompts="openai",
        ...                          label_space="native", model_info={"family": family},
        ...                          metrics=[MetricValue("top1", top1, True)])
        >>> fog = "corruption3d(depth='factorworld', name='fog_3d', severity=5)"
        >>> data = ReportData([rec("zoo:c", "CNN", None, 0.9), rec("zoo:c", "CNN", fog, 0.5),
        ...                    rec("zoo:v", "ViT", None, 0.6), rec("zoo:v", "ViT", fog, 0.5)])
        >>> fog3d = family_drops(data)["factorworld(n=8, seed=0)"]["fog_3d (3D)"]
        >>> {family: [round(x, 6) for x in drops] for family, drops in fog3d.items()}
        {'CNN': [0.4], 'ViT': [0.1]}

    """
    drops = model_drops(data)
    out: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for family, members in by_family(data).items():
        for e in members:
            for (eid, base), per in drops.items():
                if eid == e.id:
                    for category, drop in per.items():
                        out[base][category][family].append(drop)
    return {b: {c: dict(f) for c, f in per.items()} for b, per in out.items()}


def _per_model(data: ReportData, base: str, dim: str) -> dict[str, list[float]]:
    """Family -> each model's mean drop over the ``dim`` (``3D`` or ``2D``) categories it has on ``base``."""
    drops = model_drops(data)
    out: dict[str, list[float]] = {}
    for family, members in by_family(data).items():
        for e in members:
            values = [v for c, v in drops.get((e.id, base), {}).items() if c.endswith(f"({dim})")]
            if values:
                out.setdefault(family, []).append(float(np.mean(values)))
    return out


class Corruption3DSection(Section):
    """Severity curves per 3D corruption and the 3D-vs-2D comparison of mean top-1."""

    name = "corruptions3d"
    title = "3D corruptions"
    order = 31
    description = (
        "Top-1 accuracy under the 3D common corruptions of ImageNet-3DCC (Kar et al. 2022: depth of field, fog and "
        "flash that follow the scene's depth, camera motion with parallax, low light, sensor noise, quantisation "
        "and H.265 compression) at severities 1-5 (severity 0 is the clean benchmark), and each next to the 2D "
        "ImageNet-C corruption it resembles. The depth source is recorded with every run."
    )
    requires = (Requirement(M.PRIMARY, is_corrupted3d, "on a 3D-corrupted condition"),)

    def build(self, data: ReportData) -> SectionContent:
        g = grid3d(data)
        entries = {e.id: e for e in data.entries}
        bases = sorted({b for per in g.values() for b in per})
        label = M.label(M.PRIMARY)
        figures, selector = [], []
        for base in bases:
            names = sorted({n for per in g.values() for n in per.get(base, {})})
            severities = sorted({s for per in g.values() for sev in per.get(base, {}).values() for s in sev})
            for name in names:
                lines, rows, records, values = [], [], [], []
                for eid, per in g.items():
                    cells = per.get(base, {}).get(name, {})
                    if not cells:
                        continue
                    s = series(entries[eid])
                    for sev, cell in sorted(cells.items()):
                        p = point(cell.value)
                        if p is not None:
                            s.points[sev] = p
                            rows.append(row(entries[eid], None, M.PRIMARY, cell.value, base=base, corruption3d=name,
                                            severity=sev))  # fmt: skip
                            records.append(cell.record)
                            values.append(cell.value)
                    lines.append(s)
                figures.append(
                    Figure(
                        id=slug("corruption3d", base, name),
                        title=f"{name.replace('_', ' ')} (3D)",
                        svg=line_plot(
                            severities,
                            lines,
                            x_label="severity",
                            y_label=label,
                            title=f"{name} (3D) on {_base_label(data, base)}",
                            x_tick_labels={0: "clean"},
                        ),  # fmt: skip
                        protocol=protocol(records, values, protocol_keys=("shift",)),
                        rows=rows,
                        entries=[s.entry for s in lines],
                        group=base,
                    )
                )
            figures.append(self._versus_2d(data, g, base, names))
            families = self._families(data, base)
            if families is not None:
                figures.append(families)
            selector.append(base)
        return SectionContent(figures=figures, selector=("benchmark", selector) if len(selector) > 1 else None)

    def _versus_2d(self, data: ReportData, g: dict[str, Any], base: str, names: list[str]) -> Figure:
        entries = {e.id: e for e in data.entries}
        two_d = mean_2d(data)
        categories: list[str] = []
        lines, rows = [], []
        for eid, per in g.items():
            cells = per.get(base, {})
            if not cells:
                continue
            s = series(entries[eid])
            for name in names:
                accs = [c.value.value for sev, c in cells.get(name, {}).items() if sev > 0]
                if not accs:
                    continue
                key3 = f"{name} (3D)"
                s.points[key3] = Point(float(np.mean(accs)))
                other = _resembles(name)
                mean2 = two_d.get((eid, base, other)) if other else None
                if mean2 is not None:
                    s.points[f"{other} (2D)"] = Point(mean2)
                for key in (key3, f"{other} (2D)" if mean2 is not None else None):
                    if key and key not in categories:
                        categories.append(key)
                rows.append({"model": entries[eid].model, "prompts": entries[eid].prompts, "base": base,
                             "corruption3d": name, "mean_top1_over_severities": float(np.mean(accs)),
                             "severities": len(accs), "resembles_2d": other, "mean_top1_2d": mean2})  # fmt: skip
            lines.append(s)
        return Figure(
            id=slug("corruption3d", base, "versus-2d"),
            title=(
                f"Mean {M.label(M.PRIMARY)} over severities: each 3D corruption and the 2D one it resembles "
                f"({_base_label(data, base)})"
            ),
            svg=dot_plot(categories, lines, x_label=f"mean {M.label(M.PRIMARY)} over severities", title="3D vs 2D"),
            protocol={
                "average": "unweighted mean of top-1 over the severities present (1-5), 3D and 2D alike",
                "pairs": "resembles in zeroshift/shifts/corruption3d/_info/corruption3d.yaml",
                "2D": "shown only where the store holds that ImageNet-C corruption on the same clean benchmark",
            },
            rows=rows,
            entries=[s.entry for s in lines],
            group=base,
            wide=True,
        )

    def _families(self, data: ReportData, base: str) -> Figure | None:
        """The image-encoder families side by side: mean top-1 drop per 3D corruption and its 2D counterpart."""
        per = family_drops(data).get(base, {})
        families = sorted({f for by in per.values() for f in by})
        if len(families) < 2:
            return None
        categories = sorted(per, key=lambda c: (c.endswith("(2D)"), c))
        # each 3D corruption, then the 2D one it resembles (once, after the first 3D corruption that resembles it)
        ordered: list[str] = []
        for c in (c for c in categories if c.endswith("(3D)")):
            ordered.append(c)
            other = _resembles(c.removesuffix(" (3D)"))
            if other is not None and f"{other} (2D)" in per and f"{other} (2D)" not in ordered:
                ordered.append(f"{other} (2D)")
        lines, rows, legend = [], [], []
        for k, family in enumerate(families):
            s = family_series(k, family)
            for category in ordered:
                values = per[category].get(family)
                if not values:
                    continue
                s.points[category] = spread_point(values)
                rows.append({"base": base, "family": family, "category": category, "n_models": len(values),
                             "mean_top1_drop": float(np.mean(values)), "min_top1_drop": float(min(values)),
                             "max_top1_drop": float(max(values))})  # fmt: skip
            lines.append(s)
            legend.append((s.label, s.color))
        return Figure(
            id=slug("corruption3d", base, "families"),
            title=f"Top-1 drop by image-encoder family: 3D corruptions and their 2D counterparts "
            f"({_base_label(data, base)})",
            svg=dot_plot(
                ordered,
                lines,
                "top-1 drop from clean (mean over severities)",
                x_domain=(None, None),
                title="3D vs 2D by family",
            ),  # fmt: skip
            protocol={
                **FAMILY_PROTOCOL,
                "drop": "per model: clean top-1 minus the mean top-1 over the severities present (1-5)",
                "2D": "the ImageNet-C corruption each 3D one resembles (corruption3d.yaml), same clean benchmark",
            },
            rows=rows,
            legend=legend,
            caption="Larger is worse; whiskers span the family's models.",
            group=base,
            wide=True,
        )

    def findings(self, data: ReportData) -> list[Finding]:
        """Per clean benchmark with two or more families: whose top-1 the 3D corruptions cost more, and the 2D ones."""
        out = []
        for base in sorted(family_drops(data)):
            contrast = family_contrast(_per_model(data, base, "3D"))
            if contrast is None:
                continue
            text = (
                f"3D corruptions on {_base_label(data, base)} cost the image-encoder families this much top-1 "
                f"(clean minus corrupted, mean over corruptions and severities): {contrast.listed()}"
            )
            two_d = family_contrast(_per_model(data, base, "2D"))
            if two_d is not None:
                text += f"; the 2D corruptions they resemble: {two_d.listed(contrast.means)}"
            text += f" ({contrast.verdict()})."
            out.append(
                Finding(
                    self.name,
                    text,
                    figure=slug("corruption3d", base, "families"),
                    value=contrast.spread,
                    significant=contrast.significant,
                    details={
                        "base": base,
                        "drop_3d": contrast.means,
                        "models": contrast.sizes,
                        "p": contrast.p,
                        "drop_2d": two_d.means if two_d else None,
                    },  # fmt: skip
                )
            )
        return out

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        mean_acc: dict[str, MetricValue] = {}
        for eid, per in grid3d(data).items():
            accs = [c.value.value for b in per.values() for sev in b.values() for s, c in sev.items() if s > 0]
            if accs:
                mean_acc[eid] = MetricValue("corruption3d_top1", float(np.mean(accs)), True)
        return [SummaryColumn("top-1 under 3D corruptions (mean)", mean_acc, "mean over 3D corruptions and severities")]
