"""LMMs next to their CLIP: each LMM's top-1 and its own CLIP's top-1 on the same candidates, clean and shifted,
with the paired test (McNemar, exact) per condition, the gains on the challenging categories and on the rest, and
for runs of the ``choice`` protocol how many answers named both options or neither (left out of the accuracy).

Values come from the ``lmm`` metric group (``lmm_top1``, ``clip_restricted_top1``, ``lmm_gain`` with the test in
its details, ``lmm_gain_challenging``/``lmm_gain_rest``); the CLIP each LMM was compared with is the record's
``protocol["lmm"]["companion"]``, the answer protocol ``protocol["scores"]`` and the choice counts
``protocol["lmm"]["choice"]``.

Example:
    >>> LMMSection.requires[0].pattern
    'lmm_top1'

"""

from __future__ import annotations

from typing import Any

from zeroshift.core.numeric import finite
from zeroshift.metrics.group import metric_label
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.findings import Finding
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
)
from zeroshift.reports.html.sections.common import series as entry_series
from zeroshift.reports.html.svg import dot_plot

LMM, CLIP, GAIN = "lmm_top1", "clip_restricted_top1", "lmm_gain"
HARD, REST = "lmm_gain_challenging", "lmm_gain_rest"


def answer_protocol(record: Any) -> str:
    """A short name of the run's answer protocol and candidates (``likelihood``, ``likelihood, clip_topk k=5``,
    ``choice``, ``generate``).

    Example:
        >>> from types import SimpleNamespace
        >>> answer_protocol(SimpleNamespace(protocol={"scores": {"protocol": "likelihood",
        ...                                            "candidates": {"rule": "clip_topk", "n": 5}}}))
        'likelihood, clip_topk k=5'

    """
    scores = (record.protocol or {}).get("scores") or {}
    name = str(scores.get("protocol", "likelihood"))
    rule = (scores.get("candidates") or {}).get("rule")
    if name == "likelihood" and rule and rule != "label_space":
        return f"{name}, {rule} k={scores['candidates'].get('n')}"
    return name


def _number(value: Any, digits: int = 3) -> TableCell:
    v = finite(value)
    return TableCell("–" if v is None else f"{v:.{digits}f}", v)


def _with_ci(m: Any) -> TableCell:
    if m is None:
        return TableCell("–")
    cell = _number(m.value)
    lo, hi = finite(m.ci_low), finite(m.ci_high)
    if lo is not None and hi is not None:
        cell.sub = f"[{lo:.3f}, {hi:.3f}]"
    return cell


class LMMSection(Section):
    """Each LMM and its own CLIP on the same candidates, per condition, with the paired test."""

    name = "lmm"
    title = "LMMs next to their CLIP"
    order = 75
    description = (
        "Large multimodal models built on a CLIP vision tower, used as closed-set classifiers (the log-likelihood "
        "of each class name as the answer to a question about the image, a two-way question with the CLIP's "
        "strongest wrong class, or a free answer matched to the class names), next to the CLIP they were built on, "
        "restricted to the same candidates, clean and under shifts. The gain is paired per image, with McNemar's "
        "exact test."
    )
    requires = (Requirement(LMM),)

    def build(self, data: ReportData) -> SectionContent:
        found = data.cells(LMM)
        by_key = {(e.id, c): cell for e, c, _, cell in found}
        clip_cells = {(e.id, c): cell for e, c, _, cell in data.cells(CLIP)}
        gain_cells = {(e.id, c): cell for e, c, _, cell in data.cells(GAIN)}
        hard_cells = {(e.id, c): cell for e, c, _, cell in data.cells(HARD)}
        rest_cells = {(e.id, c): cell for e, c, _, cell in data.cells(REST)}
        columns = ["LMM", "its CLIP", "condition", "answers", metric_label(LMM), metric_label(CLIP),
                   metric_label(GAIN), "McNemar p", "n", metric_label(HARD), metric_label(REST)]  # fmt: skip
        choice_rows, choice_owners = [], []
        rows, owners, plot_rows = [], [], []
        lines: dict[str, Any] = {}
        conditions = list(dict.fromkeys(c for _, c, _, _ in found))
        for e, c, _, cell in found:
            companion = ((cell.record.protocol or {}).get("lmm") or {}).get("companion") or {}
            clip = clip_cells.get((e.id, c))
            gain = gain_cells.get((e.id, c))
            details = gain.value.details if gain is not None else {}
            answers = answer_protocol(cell.record)
            hard, rest = hard_cells.get((e.id, c)), rest_cells.get((e.id, c))
            rows.append(
                [
                    TableCell(e.label or e.model, e.model),
                    TableCell(str(companion.get("model") or "?"), str(companion.get("model") or "")),
                    TableCell(c.label, c.label),
                    TableCell(answers, answers),
                    _with_ci(cell.value),
                    _with_ci(clip.value if clip is not None else None),
                    _with_ci(gain.value if gain is not None else None),
                    _number(details.get("p_value"), 4),
                    _number(details.get("n"), 0),
                    _with_ci(hard.value if hard is not None else None),
                    _with_ci(rest.value if rest is not None else None),
                ]
            )
            owners.append(e.id)
            counts = ((cell.record.protocol or {}).get("lmm") or {}).get("choice")
            if counts:
                choice_rows.append([TableCell(e.label or e.model, e.model), TableCell(c.label, c.label)]
                                   + [_number(counts.get(k), 0) for k in ("TRUE", "FALSE", "DOUBLE", "TODO")]
                                   + [_number(counts.get("accuracy"))])  # fmt: skip
                choice_owners.append(e.id)
            p = point(cell.value)
            if p is not None:
                lines.setdefault(e.id, entry_series(e)).points[c.label] = p
            plot_rows.append({"model": e.model, "clip": companion.get("model"), "condition": c.label,
                              LMM: cell.value.value, CLIP: clip.value.value if clip else None,
                              GAIN: gain.value.value if gain else None, "p_value": details.get("p_value")})  # fmt: skip
        records = [cell.record for cell in by_key.values()]
        prot = protocol(records, [cell.value for cell in by_key.values()], ("scores",))
        prot["comparison"] = "the CLIP's argmax among the same candidates (never its full-label-space top-1)"
        figure = Figure(
            id="lmm-top1",
            title="LMM top-1 per condition",
            svg=dot_plot([c.label for c in conditions], list(lines.values()), "LMM top-1", title="LMM top-1"),
            protocol=prot,
            rows=plot_rows,
            entries=list(lines),
            wide=True,
        )
        table = Table("lmm-vs-clip", "Each LMM next to its own CLIP", columns, rows, owners,
                      caption="Intervals: bootstrap; the gain's interval is the paired bootstrap. Challenging: the "
                      "classes of the CLIP's lowest per-class top-1 (protocol).")  # fmt: skip
        tables = [table]
        if choice_rows:
            tables.append(Table("lmm-choice", "Two-way questions: answers naming one option, both or neither",
                                ["LMM", "condition", "named the true class", "named the other", "named both",
                                 "named neither", "accuracy (decided)"], choice_rows, choice_owners,
                                caption="As published (ImageNet-D): answers naming both options or neither are "
                                "counted apart and left out of the accuracy."))  # fmt: skip
        return SectionContent(figures=[figure], tables=tables)

    def findings(self, data: ReportData) -> list[Finding]:
        """One sentence over every LMM: its mean gain over its own CLIP across conditions, in how many conditions
        McNemar's test finds the difference significant, and the mean gains on the challenging and the other classes
        (the paper's question: does the language model help where the CLIP is weak?).
        """
        per: dict[str, dict[str, list[float]]] = {}
        labels: dict[str, str] = {}
        for name in (GAIN, HARD, REST):
            for e, _, _, cell in data.cells(name):
                value = finite(cell.value.value)
                if value is not None:
                    per.setdefault(e.id, {}).setdefault(name, []).append(value)
                    labels[e.id] = e.label or e.model
                if name == GAIN:
                    p = finite((cell.value.details or {}).get("p_value"))
                    per.setdefault(e.id, {}).setdefault("significant", []).append(float(p is not None and p < 0.05))
        parts, hard_means = [], []
        for entry, values in per.items():
            if not values.get(GAIN):
                continue
            mean = sum(values[GAIN]) / len(values[GAIN])
            text = (f"{labels[entry]} {mean:+.3f} over {len(values[GAIN])} condition(s) (McNemar significant in "
                    f"{int(sum(values['significant']))})")  # fmt: skip
            if values.get(HARD) and values.get(REST):
                hard = sum(values[HARD]) / len(values[HARD])
                rest = sum(values[REST]) / len(values[REST])
                hard_means.append(hard)
                text += f", {hard:+.3f} on the CLIP's challenging classes and {rest:+.3f} on the others"
            parts.append(text)
        if not parts:
            return []
        text = "LMMs against their own CLIP on the same candidates (top-1 gain, mean over conditions): "
        text += "; ".join(parts) + "."
        value = sum(hard_means) / len(hard_means) if hard_means else None
        return [Finding(self.name, text, figure="lmm-top1", value=value, details={"lmms": per})]

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        values = {e.id: cell.value for e, _, _, cell in data.cells(GAIN)}
        return [SummaryColumn("LMM - CLIP", values, "an LMM's top-1 minus its own CLIP's on the same candidates")]
