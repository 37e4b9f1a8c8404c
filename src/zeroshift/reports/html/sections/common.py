"""Helpers shared by sections: which conditions are natural, corrupted or in-distribution, and series.

Example:
    >>> from zeroshift.reports.html.data import Condition
    >>> fog = Condition("imagenet", "corruption(name='fog', severity=1)", "full")
    >>> is_natural(Condition("imagenet_r", None, "subset")), is_natural(fog)
    (True, False)

"""

from __future__ import annotations

from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import Condition, Entry, ReportData
from zeroshift.reports.html.section import point
from zeroshift.reports.html.svg import Series
from zeroshift.specs import CallSpec


def is_corrupted(c: Condition) -> bool:
    """Whether the condition is a corruption (on-the-fly shift or released ImageNet-C)."""
    return M.corruption_of(c.benchmark, c.shift) is not None


def is_natural(c: Condition) -> bool:
    """Whether the condition is not a corruption (clean benchmarks, natural shifts, other shifts)."""
    return not is_corrupted(c)


def benchmark_name(benchmark: str) -> str:
    """The registry name of a canonical benchmark spec (the text itself when unreadable)."""
    try:
        return CallSpec.parse(benchmark).name
    except Exception:  # any text a record may hold
        return benchmark


def in_distribution(data: ReportData, c: Condition) -> Condition | None:
    """The in-distribution condition a shifted condition is compared with.

    A shifted or corrupted condition pairs with its clean benchmark; a natural-shift benchmark with the
    benchmark its class names as ``in_distribution`` (ImageNet for ImageNet-V2/-Sketch/-R/-A, ObjectNet),
    preferring the same label space. None for in-distribution conditions and unknown pairs.
    """
    corr = M.corruption_of(c.benchmark, c.shift)
    if c.shift is not None or corr is not None:
        base = corr[0] if corr else c.benchmark
        candidates = [
            d
            for d in data.conditions
            if d.shift is None and (d.benchmark == base or benchmark_name(d.benchmark) == base)
        ]
        same = [d for d in candidates if d.label_space == c.label_space]
        return (same or candidates or [None])[0]
    target = M.in_distribution_of(c.benchmark)
    if target is None:
        return None
    candidates = [d for d in data.conditions if d.shift is None and benchmark_name(d.benchmark) == target]
    same = [d for d in candidates if d.label_space == c.label_space]
    return (same or candidates or [None])[0]


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
