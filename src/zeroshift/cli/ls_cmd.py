"""``zeroshift ls models|benchmarks|shifts|metrics|suites|prompts``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError
from zeroshift.registry import suggest

WHAT = ("models", "benchmarks", "shifts", "metrics", "artefacts", "suites", "prompts")


def _params(defaults: dict, choices: dict | None = None) -> str:
    """``name=default (one of ...)`` per parameter, one per line."""
    lines = []
    for name, default in defaults.items():
        allowed = (choices or {}).get(name)
        shown = f" (one of {', '.join(str(c) for c in allowed)})" if allowed else ""
        lines.append(f"{name}={default!r}{shown}")
    return "\n".join(lines) or "-"


def _declared(params: dict) -> str:
    """``name=default: help`` per declared Param, one per line."""
    return "\n".join(f"{name}: {p.describe()}; {p.help}" for name, p in params.items()) or "-"


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
    what: str = typer.Argument(..., help="models, benchmarks, shifts, metrics, artefacts, suites or prompts."),
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
            rows.append((name, cls.description, _params(cls.defaults), ", ".join(cls.label_spaces), cls.layout))
        columns = ("name", "description", "parameters", "label spaces", "layout under --data-root")
        console.print(_table("benchmarks", columns, rows))
    elif what == "shifts":
        from zeroshift.shifts import shifts

        rows = []
        for n in shifts.names():
            cls = shifts.get(n)
            rows.append((n, cls.kind, cls.description, _params(cls.defaults, cls.choices)))
        console.print(_table("shifts", ("name", "kind", "description", "parameters"), rows))
    elif what == "metrics":
        from zeroshift.metrics import groups

        rows = []
        for n in groups.names():
            group = groups.get(n)
            metrics = "\n".join(f"{m.pattern} ({m.label})" for m in group.metrics)
            rows.append((n, group.description, metrics, _declared(group.params)))
        console.print(_table("metric groups", ("name", "description", "metrics", "parameters"), rows))
    elif what == "artefacts":
        from zeroshift.artefacts import kinds

        rows = []
        for n in kinds.names():
            kind = kinds.get(n)
            rows.append((n, kind.description, kind.keyed_by, _declared(kind.params)))
        console.print(_table("artefact kinds", ("name", "what", "rows per", "parameters"), rows))
    elif what == "suites":
        from zeroshift.suites import load_suite, suite_names

        rows = [(n, str(load_suite(n).get("description", ""))) for n in suite_names()]
        console.print(_table("suites", ("name", "description"), rows))
    else:
        from zeroshift.prompts import builtin_prompt_sets, load_prompts

        rows = [(n, str(len(load_prompts(n).templates)), load_prompts(n).templates[0]) for n in builtin_prompt_sets()]
        console.print(_table("prompt sets", ("name", "templates", "first"), rows))
