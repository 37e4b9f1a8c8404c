"""Rendering of records and metric rows as rich tables, JSON and CSV.

Example:
    >>> fmt_value(0.71234, 0.70, 0.72)
    '0.712 [0.700, 0.720]'

"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from rich.table import Table

from zeroshift.results.schema import RunRecord

#: metrics shown by default in tables when present, in this order
TABLE_METRICS = ("top1", "top5", "mean_per_class_recall")


def fmt_value(value: float | None, lo: float | None = None, hi: float | None = None) -> str:
    """``0.712 [0.700, 0.720]`` (interval omitted when absent)."""
    if value is None or value != value:
        return "-"
    text = f"{value:.3f}"
    if lo is not None and hi is not None and lo == lo and hi == hi:
        text += f" [{lo:.3f}, {hi:.3f}]"
    return text


def records_table(records: list[RunRecord], metric_names: Iterable[str] | None = None) -> Table:
    """One row per record, one column per metric."""
    names = list(metric_names or [])
    if not names:
        present = [m.name for r in records for m in r.metrics]
        names = [n for n in TABLE_METRICS if n in present] or list(dict.fromkeys(present))[:4]
    table = Table(show_lines=False)
    for column in ("model", "benchmark", "shift", "prompts", "label space"):
        table.add_column(column, overflow="fold")
    for name in names:
        table.add_column(name, justify="right")
    for r in records:
        cells = []
        for name in names:
            m = r.metric(name)
            cells.append(fmt_value(m.value, m.ci_low, m.ci_high) if m else "-")
        table.add_row(r.model, r.benchmark, r.shift or "clean", r.prompts, r.label_space, *cells)
    return table


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of flat dict rows (columns from the first row)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def rows_json(rows: list[dict[str, Any]]) -> str:
    """JSON array of flat dict rows."""
    return json.dumps(rows, indent=1, default=str)
