"""``zeroshift demo``: the zoo on FactorWorld, offline, into a results database (and the report)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.results.schema import RunRecord


def pivot_table(records: list[RunRecord]) -> Table:
    """Top-1 per model (rows) and benchmark (columns); prompt sets other than ``openai`` get their own column."""
    from zeroshift.demo import summary_rows

    rows = [r for r in summary_rows(records) if r["top1"] is not None]
    columns: list[str] = []
    cells: dict[tuple[str, str], float] = {}
    for r in rows:
        col = r["benchmark"].removeprefix("factorworld_") if r["benchmark"] != "factorworld" else "clean"
        if r["prompts"] not in ("openai", "n/a (fixed head)"):
            col += f" ({r['prompts']})"
        if r["shift"]:
            col += f" + {r['shift']}"
        columns.append(col)
        cells[(r["model"].removeprefix("zoo:"), col)] = r["top1"]
    columns = list(dict.fromkeys(columns))
    table = Table(title="top-1 on FactorWorld (16 classes; chance 0.0625)")
    table.add_column("model", overflow="fold")
    for c in columns:
        table.add_column(c, justify="right")
    for model in dict.fromkeys(r["model"].removeprefix("zoo:") for r in rows):
        table.add_row(model, *(f"{cells[(model, c)]:.3f}" if (model, c) in cells else "" for c in columns))
    return table


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", "-o", help="Output folder (results.db, summary.json, report)."),
    quick: bool = typer.Option(False, "--quick", help="Two models on a small subset of each benchmark (seconds)."),
    cache: Path = typer.Option(None, "--cache", help="Artefact cache [default: $ZEROSHIFT_CACHE or the user cache]."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Run every zoo model on every FactorWorld suite (offline) and write the results database and report."""
    from zeroshift.demo import run_demo

    console = Console(width=max(Console().width, 150))  # the summary table is wide; never squeeze it into 80
    console.print(f"zeroshift demo: the embedded zoo on FactorWorld{' (quick)' if quick else ''} -> {out}")
    result = run_demo(out, quick=quick, progress=progress, cache_dir=cache, device=device)
    console.print(pivot_table(result.records))
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"{len(result.records)} records in {result.store} ({result.seconds:.0f} s)")
    console.print(f"summary: {result.out / 'summary.json'}")
    if result.report:
        console.print(f"report: {result.report}")
    console.print(f"next: uv run zeroshift results --store {result.store}")
