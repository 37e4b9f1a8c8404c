"""``zeroshift results --group-by FIELD``: mean and spread of each metric per group of models and condition."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.cli.render import fmt_value, rows_csv, rows_json
from zeroshift.metrics.base import json_safe
from zeroshift.results.schema import RunRecord

#: metrics shown in tables when the user names none
DEFAULT_METRICS = ("top1",)


def show_groups(records: list[RunRecord], fields: list[str], metrics: list[str], fmt: str) -> None:
    """Print the group comparison as a table (one per metric), JSON or CSV."""
    from zeroshift.reports.factors import group_by

    rows = group_by(records, fields, metrics or (list(DEFAULT_METRICS) if fmt == "table" else None))
    if fmt != "table":
        flat = json_safe([r.as_dict(fields) for r in rows])
        typer.echo(rows_json(flat) if fmt == "json" else rows_csv(flat), nl=fmt != "csv")
        return
    console = Console()
    if not rows:
        console.print("no results to group" + (f" for metric(s) {', '.join(metrics)}" if metrics else ""))
        return
    for metric in dict.fromkeys(r.metric for r in rows):
        table = Table(title=f"{metric} by {', '.join(fields)} (mean over models [95% CI], std, range)")
        for column in ("benchmark", "shift", "label space", *fields, "n", "mean", "std", "range", "models"):
            table.add_column(column, overflow="fold", justify="right" if column in ("n", "mean", "std") else "left")
        for r in rows:
            if r.metric != metric:
                continue
            table.add_row(
                r.benchmark,
                r.shift or "clean",
                r.label_space,
                *r.group,
                str(r.n),
                fmt_value(r.mean, r.ci_low, r.ci_high),
                fmt_value(r.std),
                f"{r.min:.3f}-{r.max:.3f}",
                "; ".join(r.models),
            )
        console.print(table)
