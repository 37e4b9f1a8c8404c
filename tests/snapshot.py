"""Snapshots of stored metric values, to show that a change of the code changes no number.

``snapshot(records)`` keeps, per record (model, benchmark, shift, prompts, label space), every metric's value,
interval and direction, the scalar numbers of its details and the record's sample counts; ``compare`` lists every
field of a stored snapshot that a new one lacks or holds at another value (beyond ``tol``). New fields are allowed:
a record may say more than before, never something else.

``uv run python -m tests.snapshot STORE OUT.json.gz`` writes the snapshot of a results store (gzipped JSON).
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from typing import Any

from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store


def record_key(record: RunRecord) -> str:
    return " | ".join(
        str(x) for x in (record.model, record.benchmark, record.shift, record.prompts, record.label_space)
    )


def _number(x: Any) -> float | None | str:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, int | float):
        return "nan" if isinstance(x, float) and math.isnan(x) else float(x)
    return None


def snapshot(records: list[RunRecord]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in records:
        metrics = {}
        for m in r.metrics:
            entry = {"value": _number(m.value), "ci_low": _number(m.ci_low), "ci_high": _number(m.ci_high)}
            entry["higher_is_better"] = bool(m.higher_is_better)
            entry["details"] = {k: n for k, v in (m.details or {}).items() if (n := _number(v)) is not None}
            metrics[m.name] = entry
        counts = {k: r.counts.get(k) for k in ("total", "evaluated")}
        out[record_key(r)] = {"metrics": metrics, "counts": counts}
    return out


def load(path: str) -> dict[str, Any]:
    with gzip.open(path, "rt") as f:
        return json.load(f)


def compare(before: dict[str, Any], after: dict[str, Any], tol: float = 1e-9) -> list[str]:
    problems = []

    def differ(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return not math.isclose(a, b, rel_tol=0.0, abs_tol=tol)
        return a != b

    for key, rec in before.items():
        if key not in after:
            problems.append(f"{key}: record missing")
            continue
        new = after[key]
        for name, value in rec["counts"].items():
            if new["counts"].get(name) != value:
                problems.append(f"{key}: counts.{name} {value} -> {new['counts'].get(name)}")
        for metric, fields in rec["metrics"].items():
            got = new["metrics"].get(metric)
            if got is None:
                problems.append(f"{key}: metric {metric} missing")
                continue
            for field in ("value", "ci_low", "ci_high", "higher_is_better"):
                if differ(fields[field], got[field]):
                    problems.append(f"{key}: {metric}.{field} {fields[field]} -> {got[field]}")
            for detail, value in fields["details"].items():
                if differ(value, got["details"].get(detail)):
                    problems.append(f"{key}: {metric}.details.{detail} {value} -> {got['details'].get(detail)}")
    problems += [f"{key}: record not in the snapshot" for key in after if key not in before]
    return problems


if __name__ == "__main__":
    store, target = sys.argv[1], sys.argv[2]
    with gzip.open(target, "wt") as f:
        json.dump(snapshot(Store(store).records()), f, sort_keys=True, separators=(",", ":"))
