"""``zeroshift demo``: the zoo on FactorWorld, offline, into a results database (and the report)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.results.schema import RunRecord


def headline_table(records: list[RunRecord]) -> Table:
    """One row per model, one column per capability (the demo preset's ``headline``)."""
    from zeroshift.demo import headline, headline_columns

    values = headline(records)
    columns = [c.label for c in headline_columns() if any(c.label in row for row in values.values())]
    table = Table(
        title="top-1 on FactorWorld unless named (16 classes, chance 0.0625)",
        caption="simple: the one-template prompt set; rend./bkgd/combos: held-out style, backgrounds, colour-shape "
        "combinations; words: a wrong class name drawn in; corr.: mean over 19 corruptions x 3 severities; "
        "typo ASR: typographic attack success rate; min eps: median minimal PGD epsilon x 255; LMM-CLIP: a zoo "
        "LLaVA's top-1 minus its own tower's as a CLIP on the same candidates",
    )
    table.add_column("model", no_wrap=True)
    for c in columns:
        table.add_column(c, justify="right")
    for model, row in values.items():
        cells = [row.get(c) for c in columns]
        table.add_row(
            model.removeprefix("zoo:").replace("lmm:zoo/", "LMM ", 1),
            *(
                "" if v is None else f"{255 * v:.2f}" if c == "min eps" else f"{v:.3f}"
                for c, v in zip(columns, cells, strict=True)
            ),
        )
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

    console = Console(width=max(Console().width, 210))  # the headline table has a column per capability
    console.print(f"zeroshift demo: the embedded zoo on FactorWorld{' (quick)' if quick else ''} -> {out}")
    result = run_demo(out, quick=quick, progress=progress, cache_dir=cache, device=device)
    console.print(headline_table(result.records))
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"{len(result.records)} records in {result.store} ({result.seconds:.0f} s)")
    console.print(f"summary: {result.out / 'summary.json'}")
    console.print(f"report: {result.report}")
    console.print(f"next: uv run zeroshift results --store {result.store}")
