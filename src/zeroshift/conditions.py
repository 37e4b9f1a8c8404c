"""The structured fields of a condition: what a record measured on, as data (never parsed from spec strings).

:func:`describe` builds them from the benchmark and the shift (each contributes its own fields:
``Benchmark.condition()``, ``Shift.condition()``); the engine stores them in every record (``RunRecord.condition``)
and :func:`condition_of` reads them back, deriving them once for records written before they existed.

Example:
    >>> from zeroshift.data import make_benchmark
    >>> from zeroshift.shifts import make_shift
    >>> c = describe(make_benchmark("factorworld(n=100)", None), make_shift("corruption(name='fog', severity=3)"),
    ...              "native", seed=0, limit=None)
    >>> c["kind"], c["corruption"], c["in_distribution"], c["label"]
    ('corruption', {'name': 'fog', 'severity': 3}, 'factorworld(n=100, seed=0)', 'FactorWorld: fog, severity 3')

"""

from __future__ import annotations

from typing import Any


def describe(benchmark: Any, shift: Any, label_space: str, seed: int, limit: int | None) -> dict[str, Any]:
    """The structured fields of a condition (see ``RunRecord.condition`` for their meaning)."""
    out = {**benchmark.condition(), "label_space": label_space, "seed": seed}
    out["shift"] = out["shift_kind"] = out["shift_params"] = None
    out["label"] = out["name"]
    if shift is not None:
        fields = shift.condition()
        out.update({k: v for k, v in fields.items() if k != "corruption" or v is not None})
        # a shifted condition is a version of its benchmark: that is the in-distribution set it is compared with
        out["in_distribution"] = benchmark.canonical
        out["id_metric"] = "top1"
        out["label"] = f"{out['name']}: {fields['label']}"
    out["limit"] = {"n": limit, "seed": seed} if limit is not None else None
    return out


def condition_of(record: Any) -> dict[str, Any]:
    """A record's structured condition; derived from its specs (through the registries) for records of schema 1.

    Example:
        >>> from zeroshift.results.schema import RunRecord
        >>> old = RunRecord.new(model="zoo:x", benchmark="imagenet_r", shift=None, prompts="openai",
        ...                     label_space="subset")
        >>> condition_of(old)["in_distribution"]
        "imagenet(split='val')"

    """
    if record.condition:
        return record.condition
    from zeroshift.data import make_benchmark
    from zeroshift.shifts import make_shift

    try:
        benchmark = make_benchmark(record.benchmark, None)
        shift = make_shift(record.shift) if record.shift else None
    except Exception:  # a record of a benchmark or shift this installation does not know
        name = record.benchmark.split("(", 1)[0]
        return {"benchmark": name, "name": name, "kind": "unknown", "label": record.benchmark, "base": record.benchmark,
                "in_distribution": None, "id_metric": "top1", "training_set": None, "corruption": None,
                "shift": record.shift, "label_space": record.label_space, "limit": None}  # fmt: skip
    limit = (record.config or {}).get("limit")
    record.condition = describe(benchmark, shift, record.label_space, record.seed, limit)
    return record.condition
