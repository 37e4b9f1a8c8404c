"""Sections of the report: each declares the measurements it requires and renders only when they exist.

This is the "reports declare required measurements" pattern of robustness_metrics: a section lists
:class:`Requirement` s (a metric-name pattern, optionally restricted to some conditions); the page asks each
registered section whether the store meets them, and builds those that it does. A section returns
:class:`Figure` s (an SVG, the protocol it rests on, and the rows of data behind it, written as CSV and JSON
beside the page) and :class:`Table` s, and may add columns to the summary table and sentences to the findings list
at the top of the page (:meth:`Section.findings`, :class:`~zeroshift.reports.html.findings.Finding`).

Example:
    >>> from zeroshift.reports.html.data import ReportData
    >>> Requirement("ece").met(ReportData([]))
    False
    >>> Requirement("ece").describe()
    'ece'

"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from zeroshift.core.numeric import finite
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html.data import Condition, Entry, ReportData
from zeroshift.results.schema import RunRecord

if TYPE_CHECKING:  # the findings module loads scipy; sections import it only when they write sentences
    from zeroshift.reports.html.findings import Finding


@dataclass(frozen=True)
class Requirement:
    """Some entry has a metric whose whole name matches ``pattern`` on a condition that ``where`` accepts."""

    pattern: str
    where: Callable[[Condition], bool] | None = None
    note: str = ""

    def met(self, data: ReportData) -> bool:
        return data.has(re.compile(self.pattern), self.where)

    def describe(self) -> str:
        return self.pattern + (f" ({self.note})" if self.note else "")


@dataclass
class Figure:
    """One plot: its SVG (already escaped), what it rests on, and the rows of data it draws.

    Attributes:
        id: a unique slug (also the stem of its data files).
        title: heading of the plot.
        svg: the SVG markup from :mod:`.svg`.
        protocol: label -> text, shown next to the plot (label space, prompt set, bins, OOD convention...).
        rows: the data behind the plot, one flat dict per drawn value.
        caption: one or two sentences on how to read it.
        entries: ids of the entries drawn (for the legend).
        group: the value of the section's selector this figure belongs to (None: always shown).
        notes: remarks such as a reference that is not available.
        wide: whether the plot takes the full width of the page.
        legend: (label, colour) pairs of series that are not entries (groups of models, humans), after the entries.
        tooltip: what hovering the title shows (the full specs of the conditions it draws).

    """

    id: str
    title: str
    svg: str
    protocol: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    caption: str = ""
    entries: list[str] = field(default_factory=list)
    group: str | None = None
    notes: list[str] = field(default_factory=list)
    wide: bool = False
    legend: list[tuple[str, str]] = field(default_factory=list)
    tooltip: str = ""


@dataclass
class TableCell:
    """A table cell: the text shown, the value it sorts by, a tooltip and a smaller second line."""

    text: str
    sort: float | str | None = None
    title: str = ""
    sub: str = ""  # a second, smaller line (the interval)

    @property
    def sort_key(self) -> str | None:
        """The ``data-sort`` value: numbers that are finite, to 6 significant digits (enough to order what the page
        shows; the data files keep every digit), missing values sort last; or text.

        Example:
            >>> TableCell("0.646", 0.6458333333333334).sort_key, TableCell("-", float("nan")).sort_key
            ('0.645833', None)

        """
        if isinstance(self.sort, bool) or self.sort is None:
            return None
        if isinstance(self.sort, int | float):
            return f"{float(self.sort):.6g}" if math.isfinite(self.sort) else None
        return str(self.sort)


@dataclass
class Table:
    """A sortable table; rows may belong to an entry (hidden with it)."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[TableCell]]
    row_entries: list[str | None] = field(default_factory=list)
    caption: str = ""


@dataclass
class SummaryColumn:
    """A column a section adds to the summary table: values per entry id."""

    title: str
    values: dict[str, MetricValue]
    tooltip: str = ""


@dataclass
class SectionContent:
    """What a section contributes to the page."""

    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    selector: tuple[str, list[str]] | None = None  # (label, values) of a figure-group selector


class Section:
    """Base class of report sections (see the module docstring)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: position on the page (lower first)
    order: ClassVar[int] = 100
    #: what the section shows, with the paper it follows
    description: ClassVar[str] = ""
    requires: ClassVar[tuple[Requirement, ...]] = ()

    def available(self, data: ReportData) -> bool:
        """Whether the store holds every required measurement."""
        return all(r.met(data) for r in self.requires)

    def missing(self, data: ReportData) -> list[str]:
        """The requirements the store does not meet."""
        return [r.describe() for r in self.requires if not r.met(data)]

    def build(self, data: ReportData) -> SectionContent:
        raise NotImplementedError

    def summary(self, data: ReportData) -> list[SummaryColumn]:
        """Columns for the summary table (none by default)."""
        return []

    def findings(self, data: ReportData) -> list[Finding]:
        """Plain sentences for the findings list at the top of the page (none by default).

        Asked only when the store meets the section's requirements; the list shows them in the sections' page
        order, each linked to its ``figure`` (the id of one of this section's figures) when that figure is drawn.
        A sentence whose evidence is not significant says so, and sets ``significant=False``.
        """
        return []


# --- helpers shared by sections --------------------------------------------------------------------------


def point(m: MetricValue | None) -> Any:
    """A :class:`~.svg.Point` of a metric value (None when absent or not finite)."""
    from zeroshift.reports.html.svg import Point

    if m is None or m.value is None or not math.isfinite(m.value):
        return None
    return Point(m.value, m.ci_low, m.ci_high)


def row(entry: Entry, condition: Condition | None, name: str, m: MetricValue, **extra: Any) -> dict[str, Any]:
    """A flat data row for CSV/JSON: entry, condition, metric, value and interval."""
    out: dict[str, Any] = {"model": entry.model, "prompts": entry.prompts}
    if condition is not None:
        out.update(
            condition=condition.label,
            kind=condition.kind,
            benchmark=condition.benchmark,
            shift=condition.shift,
            label_space=condition.label_space,
        )
    out.update(extra)
    out.update(metric=name, value=finite(m.value), ci_low=finite(m.ci_low), ci_high=finite(m.ci_high))
    return out


def _distinct(values: list[str]) -> str:
    seen = list(dict.fromkeys(v for v in values if v))
    return "; ".join(seen[:6]) + (f"; … ({len(seen) - 6} more)" if len(seen) > 6 else "")


def describe_label_space(record: RunRecord) -> str:
    """The label space of a record: name, class count and universe."""
    ls = (record.protocol or {}).get("label_space") or {}
    if not isinstance(ls, dict) or not ls:
        return record.label_space
    return f"{ls.get('name', record.label_space)}: {ls.get('n_classes', '?')} classes of {ls.get('universe', '?')}"


def describe_prompts(record: RunRecord) -> str:
    """The prompt set of a record: name, template count and digest."""
    p = (record.protocol or {}).get("prompts")
    if not isinstance(p, dict):
        return record.prompts
    digest = str(p.get("digest", ""))[:12]
    return f"{p.get('name', record.prompts)} ({p.get('n_templates', '?')} templates, sha256 {digest})"


def describe_bootstrap(record: RunRecord) -> str:
    """The bootstrap settings of a record's intervals."""
    b = (record.protocol or {}).get("bootstrap")
    if not isinstance(b, dict) or not b.get("n_boot"):
        return "none"
    level = 1 - float(b.get("alpha", 0.05))
    return f"{b.get('method', 'percentile')}, {b['n_boot']} resamples, {level:.0%} interval, seed {b.get('seed')}"


def scalar_text(value: Any) -> str:
    """A protocol value as text: floats that are not whole to 6 significant digits, anything else as ``str``.

    Example:
        >>> scalar_text(1 / 15), scalar_text(0.94), scalar_text(2.0), scalar_text(True), scalar_text("a")
        ('0.0666667', '0.94', '2.0', 'True', 'a')

    """
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.6g}"
    return str(value)


def scalar_items(d: Any, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """``(key, text)`` for the scalar (or short list) items of a dict (floats by :func:`scalar_text`)."""
    if not isinstance(d, dict):
        return []
    out = []
    for k, v in d.items():
        if k in skip:
            continue
        if isinstance(v, str | int | float | bool) or v is None:
            out.append((str(k), scalar_text(v)))
        elif isinstance(v, list | tuple) and len(v) <= 20 and all(isinstance(x, int | float | str) for x in v):
            out.append((str(k), ", ".join(scalar_text(x) for x in v)))
    return out


def protocol(
    records: list[RunRecord],
    metrics: list[MetricValue] | None = None,
    protocol_keys: tuple[str, ...] = (),
    detail_skip: tuple[str, ...] = ("bins", "histogram", "per_category", "n"),
) -> dict[str, str]:
    """What a plot rests on, from the records it draws: label spaces, prompt sets, bootstrap, and the scalar
    details of the metrics and of the named protocol entries (bins, OOD convention, temperature split...).
    """
    out: dict[str, str] = {}
    if not records:
        return out
    out["label space"] = _distinct([f"{r.benchmark}: {describe_label_space(r)}" for r in records])
    out["prompts"] = _distinct([describe_prompts(r) for r in records])
    out["intervals"] = _distinct([describe_bootstrap(r) for r in records])
    limits = [r.protocol.get("limit") for r in records if isinstance((r.protocol or {}).get("limit"), dict)]
    if limits:
        out["subset"] = _distinct([f"--limit {lim.get('n')} (seed {lim.get('seed')})" for lim in limits])
    for key in protocol_keys:
        items = [f"{k}={v}" for r in records for k, v in scalar_items((r.protocol or {}).get(key))]
        if items:
            out[key] = _distinct(items)
    items = [f"{k}={v}" for m in metrics or [] for k, v in scalar_items(m.details, detail_skip)]
    if items:
        out["settings"] = _distinct(items)
    synthetic = [str(r.provenance["synthetic"]) for r in records if (r.provenance or {}).get("synthetic")]
    if synthetic:
        out["synthetic"] = f"{len(synthetic)} record(s) not measured by zeroshift: {_distinct(synthetic)}"
    return out
