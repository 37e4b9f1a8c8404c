"""``zeroshift analyze effective-robustness|shape-bias|imagenet-x``: cross-model aggregates from the store.

Nothing is encoded: each analysis reads stored records (and saved per-sample outputs where it needs them).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.cli.options import parse_pairs
from zeroshift.cli.render import fmt_value, rows_csv
from zeroshift.cli.stores import check_format, open_existing_store
from zeroshift.metrics.base import json_safe

app = typer.Typer(help="Cross-model analyses computed from stored results.", no_args_is_help=True)

STORE = typer.Option(None, "--store", help="Results store path or SQLAlchemy URL [default: zeroshift-results.db].")
FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv.")
BOOT = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for 95% intervals.")
SEED = typer.Option(0, "--seed", help="Bootstrap seed.")


def _emit(fmt: str, rows: list[dict], document: dict) -> None:
    """JSON: the whole document; CSV: the flat rows."""
    if fmt == "json":
        typer.echo(json.dumps(json_safe(document), indent=1, default=str))
    else:  # rows may differ in their columns (e.g. accuracy on edges only for some models): union, in order
        columns = list(dict.fromkeys(k for row in rows for k in row))
        typer.echo(rows_csv(json_safe([{c: row.get(c) for c in columns} for row in rows])), nl=False)


def _signed(value: float, lo: float | None, hi: float | None) -> str:
    text = f"{value:+.3f}"
    if lo is not None and hi is not None and lo == lo and hi == hi:
        text += f" [{lo:+.3f}, {hi:+.3f}]"
    return text


@app.command("effective-robustness")
def effective_robustness(
    store: str = STORE,
    baseline: str = typer.Option(
        "testbed", "--baseline", help="testbed, timm, published (both; shipped tables) or store."
    ),
    population: list[str] = typer.Option(None, "--population", help="With --baseline store: a population model."),
    population_filter: list[str] = typer.Option(
        None, "--population-filter", help="With --baseline store: FIELD=VALUE, e.g. loss=supervised."
    ),
    transform: str = typer.Option("logit", "--transform", help="logit or probit."),
    interval: str = typer.Option(
        "bootstrap", "--interval", help="bootstrap (about nominal) or clopper_pearson (exact, conservative)."
    ),
    shift: list[str] = typer.Option(None, "--shift", help="Natural shifts (default: all): imagenet_v2, imagenet_r..."),
    model: list[str] = typer.Option(None, "--model", help="Only rows of these models."),
    bootstrap: int = BOOT,
    seed: int = SEED,
    fmt: str = FORMAT,
) -> None:
    """Effective and relative robustness of every stored model on each natural shift."""
    from zeroshift.reports.effective_robustness import analyze_effective_robustness

    check_format(fmt)
    db = open_existing_store(store)
    report = analyze_effective_robustness(
        db.records(),
        baseline=baseline,
        kind=transform,
        shifts=list(shift) if shift else None,
        population=list(population or []),
        population_filter=parse_pairs(population_filter, "--population-filter"),
        n_boot=bootstrap,
        seed=seed,
        interval=interval,
    )
    rows = [r for r in report.rows if not model or r.model in model]
    if fmt != "table":
        document = {
            "protocol": report.protocol,
            "fits": [{"shift": f.shift, "population": f.population, **f.fit.as_dict()} for f in report.fits],
            "models": [r.as_dict() for r in rows],
            "notes": report.notes,
        }
        _emit(fmt, [r.as_dict() for r in rows], document)
        return
    console = Console()
    fits = Table(title=f"trend fits: {transform}(acc_shift) = a * {transform}(acc_id) + b")
    for column in ("shift", "population", "n", "slope a", "intercept b", "r"):
        fits.add_column(column, justify="left" if column in ("shift", "population") else "right")
    for f in report.fits:
        t = f.fit
        fits.add_row(
            f.shift,
            f.population,
            str(t.n),
            fmt_value(t.slope, *t.slope_ci),
            fmt_value(t.intercept, *t.intercept_ci),
            f"{t.r:.3f}",
        )
    console.print(fits)
    table = Table(title="effective robustness (accuracy above the trend) and relative robustness (shift / ID)")
    for column in ("model", "prompts", "shift", "acc ID", "acc shift", "trend expects", "ER [95% CI]", "rel."):
        table.add_column(
            column, overflow="fold", justify="left" if column in ("model", "prompts", "shift") else "right"
        )
    for r in rows:
        table.add_row(
            r.model + (" *" if r.in_population else ""),
            r.prompts,
            r.shift,
            f"{r.acc_id:.3f}",
            f"{r.acc_shift:.3f}",
            f"{r.expected:.3f}",
            _signed(r.effective_robustness, r.ci_low, r.ci_high),
            f"{r.relative_robustness:.3f}",
        )
    console.print(table)
    if any(r.in_population for r in rows):
        console.print("* member of the baseline population")
    for note in report.notes:
        console.print(f"note: {note}")


@app.command("shape-bias")
def shape_bias(
    store: str = STORE,
    humans: Path = typer.Option(
        None, "--humans", help="Folder of human-response CSVs (cue-conflict/, edge/, silhouette/) for the reference."
    ),
    categories: bool = typer.Option(False, "--categories", help="Also show shape bias per category."),
    fmt: str = FORMAT,
) -> None:
    """Shape bias (cue-conflict) and accuracy on edges and silhouettes of every stored model, with humans."""
    from zeroshift.reports.shape_bias import human_reference, model_shape_bias

    check_format(fmt)
    rows = model_shape_bias(open_existing_store(store).records())
    reference = human_reference(humans) if humans is not None else None
    if not rows and reference is None:
        from zeroshift.errors import UsageError

        raise UsageError("no cue_conflict run in the store; run `zeroshift run -b cue_conflict ...` first")
    if fmt != "table":
        flat = []
        for r in rows:
            flat.append(
                {
                    "model": r.model,
                    "prompts": r.prompts,
                    "label_space": r.label_space,
                    "shape_bias": r.shape_bias,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "shape_match": r.shape_match,
                    "texture_match": r.texture_match,
                    **{f"{k}_accuracy": v[0] for k, v in r.accuracy.items()},
                }
            )
        if reference is not None:
            flat.append({"model": "humans", "shape_bias": reference.shape_bias,
                         **{f"{k}_accuracy": v for k, v in reference.accuracy.items()}})  # fmt: skip
        document = {"models": [r.as_dict() for r in rows], "humans": reference.as_dict() if reference else None}
        _emit(fmt, flat, document)
        return
    console = Console()
    table = Table(title="shape bias: shape / (shape + texture) decisions on cue-conflict images (Geirhos et al. 2019)")
    for column in ("model", "prompts", "label space", "shape bias", "shape", "texture", "edges acc", "silhouettes acc"):
        table.add_column(column, overflow="fold", justify="right" if "acc" in column or column in ("shape", "texture")
                         or column == "shape bias" else "left")  # fmt: skip
    for r in rows:
        acc = {k: fmt_value(*v) for k, v in r.accuracy.items()}
        table.add_row(
            r.model + (" (subset)" if r.limited else ""),
            r.prompts,
            r.label_space,
            fmt_value(r.shape_bias, r.ci_low, r.ci_high),
            fmt_value(r.shape_match),
            fmt_value(r.texture_match),
            acc.get("edges", "-"),
            acc.get("silhouettes", "-"),
        )
    if reference is not None:
        table.add_row(
            f"humans ({reference.n_subjects} observers)",
            "",
            "",
            f"{reference.shape_bias:.3f} (subject mean {reference.shape_bias_subject_mean:.3f})",
            fmt_value(reference.counts["shape"] / reference.counts["n"]),
            fmt_value(reference.counts["texture"] / reference.counts["n"]),
            fmt_value(reference.accuracy.get("edges")),
            fmt_value(reference.accuracy.get("silhouettes")),
        )
    console.print(table)
    if categories:
        names = sorted({c for r in rows for c in r.per_category} | set(reference.per_category if reference else []))
        per = Table(title="shape bias per shape category")
        per.add_column("category")
        for r in rows:
            per.add_column(f"{r.model} [{r.prompts}, {r.label_space}]", justify="right", overflow="fold")
        if reference is not None:
            per.add_column("humans", justify="right")
        for c in names:
            cells = [fmt_value((r.per_category.get(c) or {}).get("shape_bias")) for r in rows]
            if reference is not None:
                cells.append(fmt_value(reference.per_category.get(c)))
            per.add_row(c, *cells)
        console.print(per)


@app.command("imagenet-x")
def imagenet_x(
    annotations: Path = typer.Option(
        ..., "--annotations", help="Folder of the ImageNet-X annotations (imagenet_x_val_top_factor.jsonl[.gz]...)."
    ),
    store: str = STORE,
    model: list[str] = typer.Option(None, "--model", help="Only these models."),
    run: list[str] = typer.Option(None, "--run", help="Only these run ids (or unique prefixes)."),
    factors: str = typer.Option("top", "--factors", help="top (each image's main factor) or multi (all factors)."),
    keep_prototypes: bool = typer.Option(False, "--keep-prototypes", help="Keep the annotators' prototype images."),
    bootstrap: int = BOOT,
    seed: int = SEED,
    fmt: str = FORMAT,
) -> None:
    """Accuracy and error ratio per ImageNet-X factor, from the saved samples of imagenet runs."""
    from zeroshift.reports.imagenet_x import analyze_imagenet_x

    check_format(fmt)
    results = analyze_imagenet_x(
        open_existing_store(store),
        annotations,
        models=list(model) if model else None,
        runs=list(run) if run else None,
        which=factors,
        filter_prototypes=not keep_prototypes,
        n_boot=bootstrap,
        seed=seed,
    )
    if fmt != "table":
        flat = [
            {"model": b.record.model, "prompts": b.record.prompts, "shift": b.record.shift, "run_id": b.record.run_id,
             "accuracy_overall": b.accuracy, **row.as_dict()}
            for b in results
            for row in b.rows
        ]  # fmt: skip
        document = [
            {
                "model": b.record.model,
                "prompts": b.record.prompts,
                "shift": b.record.shift,
                "run_id": b.record.run_id,
                "accuracy": b.accuracy,
                "counts": b.counts,
                "protocol": b.protocol,
                "factors": [row.as_dict() for row in b.rows],
            }
            for b in results
        ]
        _emit(fmt, flat, {"runs": document})
        return
    console = Console()
    for b in results:
        title = (
            f"ImageNet-X ({factors} factor) - {b.record.model} [{b.record.prompts}]"
            + (f" under {b.record.shift}" if b.record.shift else "")
            + f": accuracy {b.accuracy:.3f} on {b.counts['annotated']} annotated images"
        )
        table = Table(title=title)
        for column in ("factor", "images", "accuracy", "error ratio"):
            table.add_column(column, justify="left" if column == "factor" else "right")
        for row in sorted(b.rows, key=lambda x: -x.error_ratio if x.error_ratio == x.error_ratio else 0):
            table.add_row(
                row.factor, str(row.n), fmt_value(row.accuracy, *row.accuracy_ci),
                fmt_value(row.error_ratio, *row.error_ratio_ci),
            )  # fmt: skip
        console.print(table)
        skipped = {k: v for k, v in b.counts.items() if k in ("unannotated", "label_mismatch") and v}
        if skipped:
            console.print(f"left out: {skipped}")
