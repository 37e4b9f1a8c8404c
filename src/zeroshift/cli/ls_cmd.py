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


def _catalogue(filters: list[str], preset: str | None, as_json: bool) -> Table | None:
    """The catalogue entries meeting every ``--filter`` condition (and ``--preset``), with their facts."""
    from zeroshift.catalogue import load_preset, select

    entries = select(filters, preset)
    if as_json:
        import json

        print(json.dumps([e.as_dict() for e in entries], indent=1))
        return None

    def num(value: int | None) -> str:
        return "?" if value is None else f"{value:.3g}"

    rows = [
        (
            e.spec,
            e.population,
            e.family,
            num(e.params),
            e.training_data or "?",
            num(e.data_size),
            num(e.samples_seen),
            e.loss or "?",
            {True: "yes", False: "no", None: "?"}[e.fine_tuned],
            " ".join(e.tags),
        )
        for e in entries
    ]
    title = f"model catalogue: {len(rows)} models"
    if preset:
        p = load_preset(preset)
        title += f" (preset {preset}: {p.description.strip()}"
        title += f" The study had {p.paper_size}." if p.paper_size else ""
        title += f" Missing: {p.missing.strip()})" if p.missing else ")"
    columns = ("spec", "population", "family", "params", "training data", "data size", "seen", "loss", "ft", "tags")
    return _table(title, columns, rows)


def _models(patterns: list[str]) -> Table:
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
    for pattern in patterns:
        rows = [r for r in rows if pattern.lower() in r[1].lower()]
    return _table("models", ("backend", "spec", "weights"), rows)


def ls(
    what: str = typer.Argument(..., help="models, benchmarks, shifts, metrics, artefacts, suites or prompts."),
    patterns: list[str] = typer.Option(
        None,
        "--filter",
        help="Only entries containing this text; with --catalogue a condition such as training_data=LAION-2B, "
        "loss=sigmoid, data_size>=1e9 or population=supervised (repeat to combine).",
    ),
    catalogue: bool = typer.Option(False, "--catalogue", help="models: list the model catalogue with its facts."),
    preset: str = typer.Option(None, "--preset", help="models --catalogue: a named population (e.g. testbed)."),
    as_json: bool = typer.Option(False, "--json", help="models --catalogue: print the entries as JSON."),
) -> None:
    """List what zeroshift knows."""
    console = Console()
    if what not in WHAT:
        raise UsageError(f"cannot list {what!r}{suggest(what, list(WHAT))}; choose one of: {', '.join(WHAT)}")
    if (preset or as_json) and not catalogue:
        raise UsageError("--preset and --json go with: zeroshift ls models --catalogue")
    if catalogue and what != "models":
        raise UsageError(f"--catalogue lists models; use: zeroshift ls models --catalogue (not ls {what})")
    if catalogue:
        table = _catalogue(list(patterns or []), preset, as_json)
        if table is not None:
            console.print(table)
        return
    if what == "models":
        console.print(_models(list(patterns or [])))
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
