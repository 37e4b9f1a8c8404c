"""``zeroshift ls models|benchmarks|shifts|metrics|suites|prompts``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError
from zeroshift.registry import suggest

WHAT = ("models", "benchmarks", "shifts", "metrics", "suites", "prompts")


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*r)
    return table


def _models(pattern: str | None) -> Table:
    rows: list[tuple[str, ...]] = []
    import open_clip

    for arch, tag in open_clip.list_pretrained():
        rows.append(("open_clip", f"open_clip:{arch}@{tag}", "hub (or @/path/to/weights offline)"))
    from zeroshift.models import adapters

    zoo = adapters.get("zoo")
    for name in getattr(zoo, "names", lambda: [])():
        rows.append(("zoo", f"zoo:{name}", "shipped with zeroshift"))
    rows.append(("hf", "hf:REPO or hf:/local/dir", "transformers CLIPModel / SiglipModel"))
    rows.append(("timm", "timm:NAME (e.g. timm:resnet50.a1_in1k)", "see timm.list_pretrained()"))
    rows.append(
        (
            "random",
            "random:open_clip/ARCH?seed=N, random:timm/NAME?seed=N, random:hf//dir?seed=N",
            "seeded random weights",
        )
    )
    if pattern:
        rows = [r for r in rows if pattern.lower() in r[1].lower()]
    return _table("models", ("backend", "spec", "weights"), rows)


def ls(
    what: str = typer.Argument(..., help="models, benchmarks, shifts, metrics, suites or prompts."),
    pattern: str = typer.Option(None, "--filter", help="Only entries containing this text."),
) -> None:
    """List what zeroshift knows."""
    console = Console()
    if what not in WHAT:
        raise UsageError(f"cannot list {what!r}{suggest(what, list(WHAT))}; choose one of: {', '.join(WHAT)}")
    if what == "models":
        console.print(_models(pattern))
        return
    if what == "benchmarks":
        from zeroshift.data import benchmarks

        rows = []
        for name in benchmarks.names():
            cls = benchmarks.get(name)
            rows.append((name, cls.description, ", ".join(cls.label_spaces), cls.layout))
        console.print(_table("benchmarks", ("name", "description", "label spaces", "layout under --data-root"), rows))
    elif what == "shifts":
        from zeroshift.shifts import shifts

        rows = [(n, shifts.get(n).kind, shifts.get(n).description) for n in shifts.names()]
        console.print(_table("shifts", ("name", "kind", "description"), rows))
    elif what == "metrics":
        from zeroshift.metrics import metrics

        rows = [(n, (metrics.get(n).__doc__ or "").strip().splitlines()[0]) for n in metrics.names()]
        console.print(_table("metric groups", ("name", "description"), rows))
    elif what == "suites":
        from zeroshift.suites import load_suite, suite_names

        rows = [(n, str(load_suite(n).get("description", ""))) for n in suite_names()]
        console.print(_table("suites", ("name", "description"), rows))
    else:
        from zeroshift.prompts import builtin_prompt_sets, load_prompts

        rows = [(n, str(len(load_prompts(n).templates)), load_prompts(n).templates[0]) for n in builtin_prompt_sets()]
        console.print(_table("prompt sets", ("name", "templates", "first"), rows))
