"""The six factors: results grouped by model metadata or by prompt set, with mean and spread per group.

Every RunRecord carries its model's metadata (``record.model_info``: architecture, family, params,
training_data, data_size, loss, fine_tuned) and its prompt set, so any metric of any benchmark can be compared
across groups of models: ``zeroshift results --group-by training_data``. Counts (``params``, ``data_size``) are
grouped by decade (``1e8-1e9``). A group's points are the newest record of each (model, prompts, label space)
on a condition; the table gives their number, mean, standard deviation, range and a bootstrap interval of the
mean over the group's models. Prompt sets are an experimental axis that costs no encoding: runs of one model
with several ``-p`` share its cached image features.

Example:
    >>> decade(2_320_000_000)
    '1e9-1e10'
    >>> from zeroshift.results.schema import RunRecord
    >>> from zeroshift.metrics.base import MetricValue
    >>> recs = [RunRecord.new(model=f"m{i}", benchmark="b", shift=None, prompts="simple", label_space="full",
    ...                       model_info={"loss": loss}, metrics=[MetricValue("top1", v, True)])
    ...         for i, (loss, v) in enumerate([("sigmoid", 0.5), ("contrastive", 0.25), ("contrastive", 0.75)])]
    >>> [(g.group, g.n, g.mean) for g in group_by(recs, ["loss"], n_boot=0)]
    [(('contrastive',), 2, 0.5), (('sigmoid',), 1, 0.5)]

"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, bootstrap_ci
from zeroshift.reports.base import check_field, field_value, latest
from zeroshift.results.schema import RunRecord

#: fields whose values are counts, grouped by decade
COUNT_FIELDS = ("params", "data_size")


def decade(value: float | int | None) -> str:
    """The decade of a count as ``1eK-1eK+1`` (``unknown`` when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or value <= 0:
        return "unknown"
    k = int(math.floor(math.log10(value)))
    return f"1e{k}-1e{k + 1}"


def group_key(record: RunRecord, name: str) -> str:
    """The group a record falls in for one field (counts by decade, None as ``unknown``)."""
    value = field_value(record, name)
    if name in COUNT_FIELDS:
        return decade(value)
    return "unknown" if value is None else str(value)


@dataclass
class GroupRow:
    """One group on one condition and metric.

    Attributes:
        benchmark: canonical benchmark spec.
        shift: canonical shift spec or None.
        label_space: label-space protocol.
        metric: metric name.
        group: the group's values, one per grouping field.
        n: points (model x prompt set) in the group.
        mean: mean of the metric over the points.
        std: sample standard deviation (NaN for one point).
        min: smallest value.
        max: largest value.
        ci_low: bootstrap interval of the mean over the group's points (NaN below two points).
        ci_high: upper end.
        higher_is_better: the metric's direction.
        models: the points, as ``model [prompts]``.

    """

    benchmark: str
    shift: str | None
    label_space: str
    metric: str
    group: tuple[str, ...]
    n: int
    mean: float
    std: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    higher_is_better: bool
    models: list[str]

    def as_dict(self, fields: list[str]) -> dict[str, Any]:
        """A flat dict with one column per grouping field."""
        out = {k: v for k, v in self.__dict__.items() if k != "group"}
        out["models"] = "; ".join(self.models)
        return {**dict(zip(fields, self.group, strict=True)), **out}


def group_by(
    records: list[RunRecord],
    fields: list[str],
    metrics: list[str] | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> list[GroupRow]:
    """Group the newest records by ``fields`` and summarise each metric per condition and group.

    Rows are sorted by condition, metric and group.
    """
    for name in fields:
        check_field(name)
    buckets: dict[tuple[Any, ...], list[tuple[str, float, bool]]] = {}
    for r in latest(records):
        group = tuple(group_key(r, f) for f in fields)
        for m in r.metrics:
            if metrics and m.name not in metrics:
                continue
            if m.value is None or not math.isfinite(m.value):
                continue
            key = (r.benchmark, r.shift or "", r.label_space, m.name, group)
            buckets.setdefault(key, []).append((f"{r.model} [{r.prompts}]", float(m.value), m.higher_is_better))
    rows = []
    for (bench, shift, space, metric, group), points in sorted(buckets.items()):
        values = np.asarray([v for _, v, _ in points])
        lo, hi = bootstrap_ci(lambda idx, v=values: float(v[idx].mean()), values.size, n_boot, alpha, seed)
        rows.append(
            GroupRow(
                bench,
                shift or None,
                space,
                metric,
                group,
                int(values.size),
                float(values.mean()),
                float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                float(values.min()),
                float(values.max()),
                lo,
                hi,
                points[0][2],
                [name for name, _, _ in points],
            )
        )
    return rows


def record_metadata(record: RunRecord) -> dict[str, Any]:
    """The model-metadata columns that join every result row (``zeroshift results --format csv``)."""
    info = record.model_info
    return {k: info.get(k) for k in ("architecture", "family", "params", "training_data", "data_size", "loss",
                                     "fine_tuned")}  # fmt: skip
