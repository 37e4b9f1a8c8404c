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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from zeroshift.reports.html.data import GROUP_PALETTE, Condition, Entry, ReportData
from zeroshift.reports.html.section import point
from zeroshift.reports.html.svg import Point, Series, fmt


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


# --- image-encoder families side by side (CNN vs ViT) ----------------------------------------------------------

#: what the family comparisons record next to their figures
FAMILY_PROTOCOL = {
    "families": "model_info.family (the architecture family of the six-factor section)",
    "aggregate": "unweighted mean over the family's models; whiskers = min..max over them",
    "models": "each model once, under the prompt set it has the most measurements with; unknown families left out",
}


def by_family(data: ReportData) -> dict[str, list[Entry]]:
    """Image-encoder architecture family -> its models, as the six-factor section groups them.

    The family is the records' ``model_info.family`` (``CNN``, ``ViT``, ``ResNet``...); each model counts once,
    under the prompt set it has the most measurements with, and models of unknown family are left out.

    Example:
        >>> from zeroshift.metrics.base import MetricValue
        >>> from zeroshift.results.schema import RunRecord
        >>> recs = [RunRecord.new(model=f"zoo:{m}", benchmark="b", shift=None, prompts="openai", label_space="x",
        ...                       model_info={"family": f}, metrics=[MetricValue("top1", 0.5, True)])
        ...         for m, f in (("a", "CNN"), ("b", "ViT"), ("c", "CNN"))]
        >>> {f: [e.model for e in es] for f, es in by_family(ReportData(recs)).items()}
        {'CNN': ['zoo:a', 'zoo:c'], 'ViT': ['zoo:b']}

    """
    from zeroshift.reports.html.sections.six_factors import groups

    return groups(data, "family")


def family_series(k: int, family: str) -> Series:
    """The series of the ``k``-th family in a chart (group colours, diamond markers).

    Example:
        >>> family_series(0, "ViT").label
        'ViT encoders'

    """
    return Series(f"family-{k}", f"{family} encoders", GROUP_PALETTE[k % len(GROUP_PALETTE)], "", marker="diamond")


def spread_point(values: Sequence[float]) -> Point:
    """The mean of the models' values, with their range as whiskers.

    Example:
        >>> spread_point([0.2, 0.4, 0.9])
        Point(y=0.5, lo=0.2, hi=0.9)

    """
    v = np.asarray(values, dtype=np.float64)
    return Point(float(v.mean()), float(v.min()), float(v.max()))


@dataclass
class FamilyContrast:
    """How a per-model value differs between image-encoder families.

    Attributes:
        means: family -> mean over its models, largest first.
        sizes: family -> number of models.
        spread: the range of the family means (max - min).
        p: permutation p-value of the range (the models shuffled over the families, sizes kept; the six-factor
            findings' test), None when no assignment of so few models can reach p < 0.05.
        exact: whether ``p`` enumerates every assignment (else Monte Carlo).

    """

    means: dict[str, float]
    sizes: dict[str, int]
    spread: float
    p: float | None
    exact: bool

    @property
    def significant(self) -> bool | None:
        """Whether the families differ at the 5% level (None: too few models to tell)."""
        from zeroshift.reports.html.findings import ALPHA

        return None if self.p is None else self.p < ALPHA

    def listed(self, order: Iterable[str] | None = None) -> str:
        """``CNN 0.210 (3 models), ViT 0.150 (1 model)``: largest mean first, or the families in ``order`` first."""
        first = [f for f in order or () if f in self.means]
        families = first + [f for f in self.means if f not in first]
        return ", ".join(f"{f} {fmt(self.means[f])} ({self.sizes[f]} model{'s' if self.sizes[f] != 1 else ''})"
                         for f in families)  # fmt: skip

    def verdict(self) -> str:
        """The test's result in words."""
        from zeroshift.reports.html.findings import ALPHA

        if self.p is None:
            return f"too few models for a permutation test to reach p < {ALPHA:g}"
        how = "exact" if self.exact else "Monte Carlo"
        return f"permutation p = {self.p:.2g}, {how}" + ("" if self.p < ALPHA else "; not significant")


def family_contrast(values: Mapping[str, Sequence[float]]) -> FamilyContrast | None:
    """Compare per-model values between families (None with fewer than two families holding values).

    Example:
        >>> c = family_contrast({"ViT": [0.1, 0.2, 0.0], "CNN": [0.5, 0.5, 0.6, 0.6]})
        >>> c.listed(), round(c.spread, 6), round(c.p * 35, 6), c.significant  # 1 of the 35 assignments
        ('CNN 0.550 (4 models), ViT 0.100 (3 models)', 0.45, 1.0, True)
        >>> c.listed(order=["ViT"])
        'ViT 0.100 (3 models), CNN 0.550 (4 models)'
        >>> family_contrast({"CNN": [0.3, 0.4, 0.5], "ViT": [0.1, 0.2, 0.0]}).verdict()  # 2 of 20 at best
        'too few models for a permutation test to reach p < 0.05'

    """
    from zeroshift.reports.html.findings import ALPHA, min_p, range_permutation_p

    kept = {f: [float(x) for x in v] for f, v in values.items() if len(v)}
    if len(kept) < 2:
        return None
    means = {f: float(np.mean(v)) for f, v in sorted(kept.items(), key=lambda kv: -float(np.mean(kv[1])))}
    sizes = {f: len(kept[f]) for f in means}
    flat = [x for f in means for x in kept[f]]
    labels = [f for f in means for _ in kept[f]]
    p, exact = (None, False)
    if min_p(list(sizes.values())) < ALPHA:
        p, exact = range_permutation_p(flat, labels)
    return FamilyContrast(means, sizes, max(means.values()) - min(means.values()), p, exact)
