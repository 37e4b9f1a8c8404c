"""``zeroshift compare A B``: two models on the same samples, with a p-value (McNemar or paired bootstrap)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.cli.render import fmt_value, rows_csv
from zeroshift.cli.stores import check_format, open_existing_store
from zeroshift.metrics.base import json_safe


def compare(
    a: str = typer.Argument(..., help="Run id (or unique prefix) or model spec of the first model."),
    b: str = typer.Argument(..., help="Run id (or unique prefix) or model spec of the second model."),
    benchmark: str = typer.Option(None, "--benchmark", "-b", help="With model specs: the benchmark to compare on."),
    shift: str = typer.Option(None, "--shift", help="With model specs: the shift (default: clean)."),
    test: str = typer.Option("mcnemar", "--test", help="mcnemar (exact), midp or bootstrap."),
    store: str = typer.Option(None, "--store", help="Results store path or SQLAlchemy URL."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples (interval; bootstrap test)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
) -> None:
    """Compare two runs on their shared samples (from --save-samples outputs)."""
    from zeroshift.reports.paired import compare_runs

    check_format(fmt)
    result = compare_runs(
        open_existing_store(store), a, b, benchmark=benchmark, shift=shift, method=test, n_boot=bootstrap, seed=seed
    )
    t = result.test
    row = {
        "a": result.a.model,
        "a_run": result.a.run_id,
        "b": result.b.model,
        "b_run": result.b.run_id,
        "benchmark": result.a.benchmark,
        "shift": result.a.shift,
        **t.as_dict(),
        **result.counts,
    }
    if fmt == "json":
        typer.echo(json.dumps(json_safe({**row, "protocol": result.protocol}), indent=1))
        return
    if fmt == "csv":
        typer.echo(rows_csv([json_safe(row)]), nl=False)
        return
    table = Table(title=f"paired comparison on {t.n} shared samples of {result.a.benchmark}")
    for column in ("", "model", "prompts", "top-1"):
        table.add_column(column, overflow="fold")
    table.add_row("A", result.a.model, result.a.prompts, fmt_value(t.accuracy_a))
    table.add_row("B", result.b.model, result.b.prompts, fmt_value(t.accuracy_b))
    console = Console()
    console.print(table)
    console.print(
        f"A - B = {t.difference:+.4f} [{t.ci_low:+.4f}, {t.ci_high:+.4f}] (paired bootstrap 95%); "
        f"only A right: {t.only_a}, only B right: {t.only_b}; {t.method} p = {t.p_value:.4g}"
    )
    if result.counts["only_in_a"] or result.counts["only_in_b"]:
        console.print(
            f"samples in one run only (left out): A {result.counts['only_in_a']}, B {result.counts['only_in_b']}"
        )
