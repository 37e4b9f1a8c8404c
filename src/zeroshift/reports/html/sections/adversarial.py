"""Adversarial attacks: robust top-1 against the attack radius, attack success rates, and minimal radii.

Every condition whose record says ``kind == "adversarial"`` (FGSM, PGD, APGD-CE under an L-inf or L2 budget) is
drawn here, never next to distribution shifts: one line per model over the radius, starting from the clean top-1 of
the same images (the record's ``clean_top1``), the attack success rate (clean-correct images the attack flips),
and the median per-image minimal radius of the ``min_epsilon`` search where it was run.

Example:
    >>> AdversarialSection.requires[0].note
    'on an adversarial condition, or min_epsilon_median'
    >>> radius_label(2 / 255), radius_label("4/255"), radius_label(0.03)
    ('2/255', '4/255', '0.03')

"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from zeroshift.core.numeric import finite
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, ReportData, _strength
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
from zeroshift.reports.html.sections.common import metric_series, series, specs
from zeroshift.reports.html.svg import Point, dot_plot, fmt, line_plot

#: the metrics of an attack run, in table order
METRICS = ("top1", "clean_top1", "accuracy_drop", "attack_success_rate")
MIN_EPSILON = "min_epsilon_median"
RESISTED = "resisted_eps_max"
_NORMS = {"linf": "L-inf", "l2": "L2"}


def radius_label(eps: Any) -> str:
    """An attack radius as people write it: ``k/255`` when it is a whole number of 255ths, else the number."""
    value = _strength(eps)
    k = value * 255
    if value > 0 and abs(k - round(k)) < 1e-6:
        return f"{round(k)}/255"
    return f"{value:g}"


def family(c: Condition) -> str:
    """The attack without its radius (``PGD L-inf``), to draw its radii on one line."""
    params = c.info.get("shift_params") or {}
    name = str(c.info.get("shift") or "attack").upper()
    norm = _NORMS.get(str(params.get("norm")), str(params.get("norm") or "")).strip()
    return f"{name} {norm}".strip()


def _is_attack(c: Condition) -> bool:
    return c.kind == "adversarial"


class AdversarialSection(Section):
    """Robust accuracy over the radius, attack success, and minimal radii."""

    name = "adversarial"
    title = "Adversarial attacks"
    order = 36
    description = (
        "White-box attacks on the zero-shot (or fixed) classifier: top-1 under FGSM, PGD or APGD-CE against the "
        "radius of the perturbation (0 is the clean top-1 of the same images), the attack success rate (the "
        "clean-correct images the attack flips) and the median minimal radius that flips an image (Croce & Hein "
        "2020; Schlarmann et al. 2024)."
    )
    requires = (Requirement(M.PRIMARY, _is_attack, "on an adversarial condition, or min_epsilon_median"),)

    def available(self, data: ReportData) -> bool:
        return data.has(M.PRIMARY, _is_attack) or data.has(MIN_EPSILON)

    def findings(self, data: ReportData) -> list[F.Finding]:
        """Per attack, top-1 at each radius against the clean top-1 (:func:`.findings.paired_drop`)."""
        by_family: dict[str, list[Condition]] = defaultdict(list)
        for c in data.conditions_with("accuracy_drop", _is_attack):
            by_family[family(c)].append(c)
        out = []
        for fam, members in by_family.items():
            members.sort(key=lambda c: _strength((c.info.get("shift_params") or {}).get("eps")))
            names = {c: f"ε = {radius_label((c.info.get('shift_params') or {}).get('eps'))}" for c in members}
            out += F.paired_drop(data, members, f"{fam} attacks", slug("adversarial", fam), self.name, names)
        return out

    def missing(self, data: ReportData) -> list[str]:
        return [] if self.available(data) else [self.requires[0].describe()]

    def build(self, data: ReportData) -> SectionContent:
        conditions = data.conditions_with(M.PRIMARY, _is_attack)
        by_family: dict[str, list[Condition]] = defaultdict(list)
        for c in conditions:
            by_family[family(c)].append(c)
        figures = []
        for fam, members in by_family.items():
            figures.append(self._curve(data, fam, members))
        asr = data.conditions_with("attack_success_rate", _is_attack)
        if asr:
            lines = metric_series(data, "attack_success_rate", asr)
            cells = [(e, c, data.cell(e, c, "attack_success_rate")) for e in data.entries for c in asr]
            cells = [(e, c, cell) for e, c, cell in cells if cell]
            figures.append(
                Figure(
                    id="adversarial-attack-success",
                    title="Attack success rate: clean-correct images the attack flips",
                    svg=dot_plot(
                        [c.label for c in asr],
                        lines,
                        M.label("attack_success_rate"),
                        title="adversarial attack success rate",
                        tooltips=specs(asr),
                    ),
                    protocol=protocol([x.record for *_, x in cells], [x.value for *_, x in cells], ("attack",)),
                    rows=[row(e, c, "attack_success_rate", cell.value) for e, c, cell in cells],
                    caption="Lower is better; whiskers are 95% bootstrap intervals.",
                    entries=[s.entry for s in lines],
                    wide=True,
                )
            )
        minimal = self._min_epsilon(data)
        if minimal is not None:
            figures.append(minimal)
        return SectionContent(figures=figures, tables=[self._table(data, conditions)])

    def _curve(self, data: ReportData, fam: str, members: list[Condition]) -> Figure:
        radii = sorted({_strength((c.info.get("shift_params") or {}).get("eps")) for c in members})
        lines, rows, records, values = [], [], [], []
        for e in data.entries:
            s = series(e)
            for c in members:
                cell = data.cell(e, c, M.PRIMARY)
                if cell is None or (p := point(cell.value)) is None:
                    continue
                eps = _strength((c.info.get("shift_params") or {}).get("eps"))
                s.points[eps] = p
                rows.append(row(e, c, M.PRIMARY, cell.value, epsilon=eps))
                records.append(cell.record)
                values.append(cell.value)
                clean = data.metric(e, c, "clean_top1")
                if clean is not None and 0.0 not in s.points and (q := point(clean)) is not None:
                    s.points[0.0] = q
                    rows.append(row(e, c, "clean_top1", clean, epsilon=0.0))
            if s.points:
                lines.append(s)
        xs = sorted({0.0, *radii})
        return Figure(
            id=slug("adversarial", fam),
            title=f"Top-1 under {fam} attacks against the radius",
            svg=line_plot(
                xs,
                lines,
                x_label="radius ε (0: clean images)",
                y_label="top-1",
                width=470,
                height=300,
                title=f"robust top-1 under {fam}",
                x_tick_labels={x: ("clean" if x == 0 else radius_label(x)) for x in xs},
            ),
            protocol=protocol(records, values, ("attack",)),
            rows=rows,
            caption="Whiskers are 95% bootstrap intervals; the radius axis is linear.",
            entries=[s.entry for s in lines],
            tooltip="; ".join(c.spec for c in members),
        )

    def _min_epsilon(self, data: ReportData) -> Figure | None:
        conditions = data.conditions_with(MIN_EPSILON)
        if not conditions:
            return None
        lines, rows, records, values = [], [], [], []
        for e in data.entries:
            s = series(e)
            for c in conditions:
                cell = data.cell(e, c, MIN_EPSILON)
                if cell is None or finite(cell.value.value) is None:
                    continue
                m = cell.value
                scaled = [None if finite(v) is None else float(v) * 255 for v in (m.value, m.ci_low, m.ci_high)]
                s.points[c.label] = Point(scaled[0], scaled[1], scaled[2])  # type: ignore[arg-type]
                rows.append(row(e, c, MIN_EPSILON, m, value_x255=scaled[0]))
                records.append(cell.record)
                values.append(m)
                resisted = data.metric(e, c, RESISTED)
                if resisted is not None:
                    rows.append(row(e, c, RESISTED, resisted))
            if s.points:
                lines.append(s)
        if not lines:
            return None
        return Figure(
            id="adversarial-min-epsilon",
            title="Median minimal radius that flips an image",
            svg=dot_plot(
                [c.label for c in conditions],
                lines,
                "median minimal ε (in 1/255)",
                x_domain=(0.0, None),
                title="median minimal epsilon",
                tooltips=specs(conditions),
            ),
            protocol=protocol(records, values, ("min_epsilon",)),
            rows=rows,
            caption="Higher is better: the radius (in units of 1/255) at which half the images are flipped; images "
            "the search cannot flip count at the largest radius searched (censored).",
            entries=[s.entry for s in lines],
            wide=True,
        )

    def _table(self, data: ReportData, conditions: list[Condition]) -> Table:
        rows, owners = [], []
        for e in data.entries:
            for c in conditions:
                vals = [data.metric(e, c, n) for n in METRICS]
                if not any(vals):
                    continue
                cells = [TableCell(e.label), TableCell(c.label, title=c.spec)]
                cells += [TableCell(fmt(v.value) if v else "-", v.value if v else None) for v in vals]
                rows.append(cells)
                owners.append(e.id)
        columns = ["model", "attack"] + [M.label(n) for n in METRICS]
        return Table("adversarial-table", "Adversarial attack metrics", columns, rows, owners)

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        conditions = data.conditions_with(MIN_EPSILON)
        if not conditions:
            return []
        c = conditions[0]
        values = {
            e.id: MetricValue(MIN_EPSILON, m.value * 255, True)
            for e in data.entries
            if (m := data.metric(e, c, MIN_EPSILON)) is not None and finite(m.value) is not None
        }
        return [SummaryColumn("median minimal ε (/255)", values, f"median minimal PGD radius x 255 on {c.spec}")]
