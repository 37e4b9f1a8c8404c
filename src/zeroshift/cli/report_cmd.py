"""``zeroshift report``: one self-contained HTML page of a results store, with the data of every plot beside it."""

from __future__ import annotations

from pathlib import Path

import typer

from zeroshift.errors import UsageError
from zeroshift.paths import default_store
from zeroshift.results.store import Store


def report(
    store: str = typer.Option(
        None, "--store", help="Results store path or SQLAlchemy URL [default: zeroshift-results.db]."
    ),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write."),
    title: str = typer.Option(None, "--title", help="Title of the page [default: zeroshift report]."),
    humans: Path = typer.Option(
        None, "--humans", help="Folder of human-response CSVs (cue-conflict/, ...) for the human shape-bias line."
    ),
    imagenet_x: Path = typer.Option(
        None, "--imagenet-x", help="ImageNet-X annotation folder, for the factor breakdown of runs with saved samples."
    ),
) -> None:
    """Write the report of a results store: one HTML file, and its plots' data as CSV/JSON beside it."""
    from zeroshift.reports.html import build_report

    target = store or default_store()
    if "://" not in target and not Path(target).exists():
        raise UsageError(f"no results store at {target}; run `zeroshift run ...` first or pass --store")
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"-o must name an .html file, got {str(out)!r}")
    if out.exists() and out.is_dir():
        raise UsageError(f"-o {out} is a folder; give a file name such as {out / 'report.html'}")
    for flag, folder in (("--humans", humans), ("--imagenet-x", imagenet_x)):
        if folder is not None and not folder.is_dir():
            raise UsageError(f"{flag} {folder}: no such folder")
    db = Store(target)
    if db.count() == 0:
        raise UsageError(f"the results store {target} holds no records; run `zeroshift run ...` first")
    try:
        result = build_report(db, out, title=title, humans=humans, imagenet_x=imagenet_x)
    except OSError as err:
        raise UsageError(f"cannot write the report to {out}: {err.strerror or err}") from None
    typer.echo(
        f"report of {result.records} record(s) written to {result.path} "
        f"({len(result.figures)} plots in {len(result.sections)} sections; data in {result.data_dir}/)"
    )
