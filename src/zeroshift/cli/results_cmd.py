"""``zeroshift results``: the records of a store as a table, JSON or CSV."""

from __future__ import annotations

import typer
from rich.console import Console

from zeroshift.cli.render import records_table, rows_csv, rows_json
from zeroshift.errors import UsageError
from zeroshift.paths import default_store
from zeroshift.reports.factors import record_metadata
from zeroshift.results.store import Store


def results(
    store: str = typer.Option(None, "--store", help="Results store path or SQLAlchemy URL."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
    model: str = typer.Option(None, "--model", help="Only this model (canonical spec)."),
    benchmark: str = typer.Option(None, "--benchmark", help="Only this benchmark (canonical spec)."),
    metric: list[str] = typer.Option(None, "--metric", help="Metrics to show (repeatable) [default: accuracy]."),
    latest: bool = typer.Option(False, "--latest", help="Only the newest record of each condition."),
    group_by: list[str] = typer.Option(
        None,
        "--group-by",
        help="Compare groups of models (repeatable): training_data, architecture, family, data_size, params, loss, "
        "fine_tuned, prompts, ...",
    ),
) -> None:
    """Show the results stored so far (or, with --group-by, their mean and spread per group of models)."""
    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"--format must be table, json or csv, got {fmt!r}")
    target = store or default_store()
    if "://" not in target:
        from pathlib import Path

        if not Path(target).exists():
            raise UsageError(f"no results store at {target}; run `zeroshift run ...` first or pass --store")
    db = Store(target)
    records = db.records(model=model, benchmark=benchmark, latest=latest)
    if group_by:
        from zeroshift.cli.group_cmd import show_groups

        show_groups(records, list(group_by), list(metric or []), fmt)
        return
    if fmt == "table":
        Console().print(records_table(records, metric or None))
        return
    wanted = set(metric or [])
    rows = []
    for r in records:
        for m in r.metrics:
            if wanted and m.name not in wanted:
                continue
            rows.append(
                {
                    "run_id": r.run_id,
                    "created_at": r.created_at,
                    "model": r.model,
                    "benchmark": r.benchmark,
                    "shift": r.shift,
                    "prompts": r.prompts,
                    "label_space": r.label_space,
                    "metric": m.name,
                    "value": m.as_dict()["value"],
                    "ci_low": m.as_dict()["ci_low"],
                    "ci_high": m.as_dict()["ci_high"],
                    "higher_is_better": m.higher_is_better,
                    **record_metadata(r),
                }
            )
    typer.echo(rows_json(rows) if fmt == "json" else rows_csv(rows), nl=False)
    if fmt == "json":
        typer.echo("")
