"""ImageNet-C summary per model: corruption errors, mCE and relative mCE from stored RunRecords.

A pure function of records (:func:`corruption_summary`): it groups the records of one model, benchmark, prompt set,
label space, seed and ``--limit`` protocol, takes top-1 error ``1 - top1`` per corruption and severity from

* on-the-fly runs: shift ``corruption(name=..., severity=...)`` on a benchmark, with the clean run of that
  benchmark (no shift) as the clean error; or
* the released JPEGs: benchmark ``imagenet_c(corruption=..., severity=...)``, with ``imagenet`` as the clean run,

and computes CE per corruption, mCE and relative mCE with AlexNet's published errors as normaliser
(:mod:`zeroshift.metrics.corruption`). When a condition was run more than once, the newest record counts.
AlexNet's errors are on all 50,000 ImageNet validation images: summaries of another benchmark, another label
space or a ``--limit`` subset are marked not comparable to published mCE (the numbers are still computed).

Example:
    >>> from zeroshift.results.schema import RunRecord
    >>> from zeroshift.metrics.base import MetricValue
    >>> def rec(shift, top1):
    ...     return RunRecord.new(model="m", benchmark="imagenet(split='val')", shift=shift, prompts="openai",
    ...                          label_space="full", metrics=[MetricValue("top1", top1, True)])
    >>> recs = [rec(None, 0.75)] + [rec(f"corruption(name='fog', severity={s})", 0.5) for s in range(1, 6)]
    >>> summary = corruption_summary(recs)[0]
    >>> round(summary.ce["fog"], 4), summary.clean_error, summary.mce is None
    (0.6103, 0.25, True)

"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from zeroshift.conditions import condition_of
from zeroshift.metrics.corruption import (
    COMMON,
    EXTRA,
    SEVERITIES,
    corruption_error,
    mean_corruption_error,
    relative_corruption_error,
)
from zeroshift.results.schema import RunRecord

#: the benchmark AlexNet's published errors were measured on (all of ImageNet val): the only protocol whose CE values
#: are comparable with published mCE
RELEASED_CLEAN = "imagenet(split='val')"


@dataclass
class CorruptionSummary:
    """ImageNet-C results of one model under one protocol.

    Attributes:
        model: the model spec.
        benchmark: the clean benchmark (canonical spec).
        source: ``on-the-fly`` (corruption shifts) or ``released`` (the imagenet_c JPEGs).
        prompts: prompt set of the runs.
        label_space: label space of the runs.
        seed: run seed (seeds on-the-fly corruptions).
        limit: the ``--limit`` subset size, or None for the whole benchmark.
        clean_error: top-1 error without corruption (None when no clean run is stored).
        errors: top-1 error per corruption and severity.
        ce: corruption error per corruption with all 5 severities (1.0 = AlexNet).
        relative_ce: relative corruption error per corruption (needs the clean error).
        mce: mean CE over the 15 common corruptions (None unless all 15 are complete).
        relative_mce: mean relative CE over the 15 common corruptions.
        missing: ``corruption@severity`` of the 15 x 5 common conditions not stored.
        comparable: whether the protocol matches AlexNet's (ImageNet val, 1000 classes, no subset).
        notes: why a value is missing or not comparable.

    """

    model: str
    benchmark: str
    source: str
    prompts: str
    label_space: str
    seed: int
    limit: int | None
    clean_error: float | None = None
    errors: dict[str, dict[int, float]] = field(default_factory=dict)
    ce: dict[str, float] = field(default_factory=dict)
    relative_ce: dict[str, float] = field(default_factory=dict)
    mce: float | None = None
    relative_mce: float | None = None
    missing: list[str] = field(default_factory=list)
    comparable: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def rows(self) -> list[dict[str, Any]]:
        """One row per corruption: error per severity, CE, relative CE (for tables and plots)."""
        out = []
        for name in (*COMMON, *EXTRA):
            if name not in self.errors:
                continue
            row: dict[str, Any] = {"model": self.model, "benchmark": self.benchmark, "corruption": name}
            row["set"] = "common" if name in COMMON else "extra"
            row.update({f"error_s{s}": self.errors[name].get(s) for s in SEVERITIES})
            row["ce"] = self.ce.get(name)
            row["relative_ce"] = self.relative_ce.get(name)
            out.append(row)
        return out


def _limit(record: RunRecord) -> int | None:
    limit = (record.config or {}).get("limit")
    return int(limit) if limit is not None else None


def _top1_error(record: RunRecord) -> float | None:
    top1 = record.metric("top1")
    if top1 is None or top1.value is None or top1.value != top1.value:
        return None
    return 1.0 - float(top1.value)


def corruption_summary(records: Iterable[RunRecord]) -> list[CorruptionSummary]:
    """Group ImageNet-C records per model and protocol and compute CE, mCE and relative mCE (module docstring)."""
    records = sorted(records, key=lambda r: r.created_at)  # the newest record of a condition wins
    clean: dict[tuple, float] = {}
    groups: dict[tuple, dict[tuple[str, int], float]] = {}
    for record in records:
        error = _top1_error(record)
        if error is None:
            continue
        base = (record.model, record.prompts, record.label_space, record.seed, _limit(record))
        condition = condition_of(record)
        corruption = condition.get("corruption")
        if corruption is None:
            if not record.shift:
                clean[(*base, record.benchmark)] = error
            continue
        source = "on-the-fly" if condition.get("shift") else "released"
        benchmark = condition.get("base") or record.benchmark  # the clean benchmark whose images were corrupted
        groups.setdefault((*base, benchmark, source), {})[(corruption["name"], int(corruption["severity"]))] = error
    out = []
    for key in sorted(groups, key=str):
        model, prompts, label_space, seed, limit, benchmark, source = key
        errors = groups[key]
        summary = CorruptionSummary(model, benchmark, source, prompts, label_space, seed, limit)
        summary.clean_error = clean.get((model, prompts, label_space, seed, limit, benchmark))
        for (name, severity), error in sorted(errors.items()):
            summary.errors.setdefault(name, {})[severity] = error
        for name, by_severity in summary.errors.items():
            if all(s in by_severity for s in SEVERITIES):
                summary.ce[name] = corruption_error(by_severity, name)
                if summary.clean_error is not None:
                    summary.relative_ce[name] = relative_corruption_error(by_severity, summary.clean_error, name)
        summary.missing = [f"{c}@{s}" for c in COMMON for s in SEVERITIES if (c, s) not in errors]
        if all(c in summary.ce for c in COMMON):
            summary.mce = mean_corruption_error(summary.ce)
            if summary.clean_error is not None:
                summary.relative_mce = mean_corruption_error(summary.relative_ce)
            else:
                summary.notes.append("no clean run stored: relative mCE needs the clean error")
        else:
            summary.notes.append(f"mCE needs all 15 x 5 common conditions; {len(summary.missing)} missing")
        summary.comparable = benchmark == RELEASED_CLEAN and label_space == "full" and limit is None
        if not summary.comparable:
            summary.notes.append(
                "AlexNet's errors are on all 50,000 ImageNet val images over 1000 classes; this protocol "
                f"({benchmark}, label space {label_space}, limit {limit}) differs, so CE values are indicative only"
            )
        if source == "on-the-fly":
            summary.notes.append(
                "on-the-fly corruptions (no JPEG step) can differ by a few points from the released ImageNet-C"
            )
        out.append(summary)
    return out
