"""``zeroshift cache info|clear``: what the artefact cache holds, and removing it."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError

app = typer.Typer(help="Inspect or clear the artefact cache.", no_args_is_help=True)


@app.command("info")
def info(cache_dir: str = typer.Option(None, "--cache-dir", help="Cache folder [default: $ZEROSHIFT_CACHE].")) -> None:
    """Show the banks, chunks and bytes per artefact kind."""
    from zeroshift.core.vectors import Cache

    cache = Cache(cache_dir)
    table = Table(title=f"cache at {cache.root}")
    for column in ("kind", "banks", "chunks", "MB"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    for kind, row in cache.info().items():
        table.add_row(kind, str(row["banks"]), str(row["chunks"]), f"{row['bytes'] / 1e6:.1f}")
    Console().print(table)


@app.command("clear")
def clear(
    kind: str = typer.Option(None, "--kind", help="Only this artefact kind (features, heads, ...)."),
    cache_dir: str = typer.Option(None, "--cache-dir", help="Cache folder [default: $ZEROSHIFT_CACHE]."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove cached artefacts (the results store is never touched)."""
    from zeroshift.artefacts import kinds
    from zeroshift.core.vectors import Cache

    cache = Cache(cache_dir)
    folders = sorted({kinds.get(name).cache_folder for name in kinds.names()} | set(cache.kinds()))
    if kind is not None and kind not in folders:
        raise UsageError(f"--kind must be one of {', '.join(folders)}, got {kind!r}")
    if not yes and not typer.confirm(f"remove {'all' if kind is None else kind} artefacts under {cache.root}?"):
        raise typer.Exit(1)
    removed = cache.clear(kind)
    typer.echo(f"removed {removed} bank(s) from {cache.root}")
