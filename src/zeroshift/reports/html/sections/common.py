"""Helpers shared by sections: which conditions are natural, corrupted or in-distribution, and series.

Everything is read from the records' structured condition fields, never from spec strings.

Example:
    >>> from zeroshift.reports.html.data import Condition
    >>> fog = Condition("imagenet", "corruption(name='fog', severity=1)", "full",
    ...                 {"kind": "corruption", "corruption": {"name": "fog", "severity": 1}})
    >>> is_natural(Condition("imagenet_r", None, "subset", {"kind": "natural_shift"})), is_natural(fog)
    (True, False)

"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from zeroshift.reports.html.data import Condition, Entry, ReportData
from zeroshift.reports.html.section import point
from zeroshift.reports.html.svg import Series


def is_corrupted(c: Condition) -> bool:
    """Whether the condition is a corruption (on-the-fly shift or released corrupted images)."""
    return c.corruption is not None


def is_natural(c: Condition) -> bool:
    """Whether the condition is not a corruption (clean benchmarks, natural shifts, other shifts)."""
    return not is_corrupted(c)


def is_distribution_shift(c: Condition) -> bool:
    """Whether the condition is a natural (or held-out) distribution shift of an in-distribution set."""
    return c.kind == "natural_shift"


def benchmark_name(c: Condition) -> str:
    """The registry name of the condition's benchmark."""
    return c.name


def in_distribution(data: ReportData, c: Condition) -> Condition | None:
    """The in-distribution condition a shifted, corrupted or natural-shift condition is compared with.

    The clean run of the benchmark the record names as its in-distribution set, preferring the same label space.
    None for in-distribution conditions and pairs the store does not hold.
    """
    target = c.in_distribution
    if target is None:
        return None
    candidates = [d for d in data.conditions if d.shift is None and d.benchmark == target]
    same = [d for d in candidates if d.label_space == c.label_space]
    return (same or candidates or [None])[0]


def of_kind(*kinds: str) -> Callable[[Condition], bool]:
    """A condition filter: the condition's kind is one of ``kinds``."""
    return lambda c: c.kind in kinds


def specs(conditions: Iterable[Condition]) -> dict[str, str]:
    """Readable label -> full spec of each condition (the tooltips of a chart's category names)."""
    return {c.label: c.spec for c in conditions}


def series(entry: Entry) -> Series:
    """An empty series styled for the entry."""
    return Series(entry.id, entry.label, entry.color, entry.dash)


def metric_series(data: ReportData, name: str, conditions: list[Condition]) -> list[Series]:
    """One series per entry with ``name`` on any of ``conditions``, keyed by condition label."""
    out = []
    for e in data.entries:
        s = series(e)
        for c in conditions:
            p = point(data.metric(e, c, name))
            if p is not None:
                s.points[c.label] = p
        if s.points:
            out.append(s)
    return out
