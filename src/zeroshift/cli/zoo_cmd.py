"""``zeroshift zoo ls|train``: the shipped zoo models and how to retrain them from their recipes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The zoo: small CLIP-style and supervised models trained on FactorWorld.", no_args_is_help=True)


def _hf_table() -> Table | None:
    """The shipped transformers-format zoo models (None when there are none)."""
    from zeroshift.zoo.hf_zoo import hf_manifest

    models = hf_manifest()["models"]
    if not models:
        return None
    table = Table(title="zoo models in transformers' formats (hf:zoo/NAME for the CLIP, lmm:zoo/NAME for the LLaVAs)")
    for col in ("name", "kind", "family", "params", "training data", "loss", "vision tower", "val top-1", "KB"):
        table.add_column(col, no_wrap=col == "name")
    for name, entry in models.items():
        info = entry["info"]
        table.add_row(
            name,
            entry["kind"],
            info["family"],
            f"{info['params']:,}",
            info["training_data"],
            info["loss"],
            info.get("vision_tower", "–"),
            f"{info['extra']['val']['top1']:.3f}",
            f"{entry['bytes'] // 1024}",
        )
    return table


@app.command("ls")
def ls() -> None:
    """List the shipped zoo models with their six-factor metadata."""
    from zeroshift.models.zoo import _manifest

    table = Table(title="zoo models (zoo:NAME)")
    for col in ("name", "kind", "family", "params", "training data", "size", "loss", "fine-tuned", "val top-1", "KB"):
        table.add_column(col, no_wrap=col == "name")
    for name, entry in _manifest()["models"].items():
        info = entry["info"]
        table.add_row(
            name,
            entry["kind"],
            info["family"],
            f"{info['params']:,}",
            info["training_data"],
            f"{info['data_size']:,}",
            info["loss"],
            "yes" if info["fine_tuned"] else "no",
            f"{info['extra']['val_top1']:.3f}",
            f"{entry['bytes'] // 1024}",
        )
    console = Console(width=max(Console().width, 140))  # never squeeze the table into 80 columns
    console.print(table)
    hf = _hf_table()
    if hf is not None:
        console.print(hf)


@app.command("train")
def train(
    name: list[str] = typer.Argument(None, help="Model name(s) from the recipes (`zeroshift zoo recipes`)."),
    all_models: bool = typer.Option(False, "--all", help="Train every recipe, in order (fine-tunes after parents)."),
    out: Path = typer.Option(Path("zoo-models"), "--out", "-o", help="Folder for NAME.safetensors + manifest.json."),
    steps: int = typer.Option(None, "--steps", help="Optimisation steps instead of the recipe's."),
    seed: int = typer.Option(None, "--seed", help="Seed of data, initialisation and batch order [recipe: 0]."),
    size: int = typer.Option(None, "--size", help="Training-set size instead of the recipe's."),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads [default: torch's]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Train zoo models from their recipes and write their weights; load them as zoo:NAME@OUT/NAME.safetensors."""
    from zeroshift.errors import UsageError
    from zeroshift.zoo.train import recipe_names
    from zeroshift.zoo.train import train as train_model

    names = recipe_names() if all_models else list(name or [])
    if not names:
        raise UsageError("give a model name (see `zeroshift zoo recipes`) or --all")
    console = Console()
    for n in names:
        result = train_model(n, out, steps=steps, seed=seed, size=size, threads=threads, progress=progress)
        console.print(
            f"{n}: validation top-1 {result.val_top1_start:.3f} before training -> {result.val_top1_end:.3f} "
            f"in {result.seconds:.0f} s; weights {result.path}",
            soft_wrap=True,
        )
        console.print(f"  evaluate: uv run zeroshift run -m zoo:{n}@{result.path} -b factorworld", soft_wrap=True)


@app.command("recipes")
def recipes() -> None:
    """List the training recipes (recipes.yaml)."""
    from zeroshift.zoo.train import resolve_recipe

    table = Table(title="zoo recipes (zeroshift zoo train NAME)")
    for col in ("name", "kind", "image encoder", "loss", "data", "size", "steps"):
        table.add_column(col, no_wrap=col == "name")
    from zeroshift.zoo.train import recipe_names

    for n in recipe_names():
        r = resolve_recipe(n)
        image = r.get("image", {"arch": f"(from {r.get('parent')})"})
        table.add_row(n, r["kind"], str(image["arch"]), r.get("loss", "-"), r["data"]["distribution"],
                      str(r["data"]["size"]), str(r["steps"]))  # fmt: skip
    Console(width=max(Console().width, 140)).print(table)  # never squeeze the table into 80 columns


@app.command("train-hf")
def train_hf(
    name: list[str] = typer.Argument(..., help="Recipe name(s) of zoo/lmm_recipes.yaml (the tower before its LLaVAs)."),
    out: Path = typer.Option(Path("zoo-hf-models"), "--out", "-o", help="Folder of the model folders + manifest."),
    steps: int = typer.Option(None, "--steps", help="Optimisation steps instead of the recipe's."),
    seed: int = typer.Option(None, "--seed", help="Seed of data, initialisation and batch order [recipe: 0]."),
    size: int = typer.Option(None, "--size", help="Training-set size instead of the recipe's."),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads [default: torch's]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Train the zoo's transformers-format models (a CLIP tower, LLaVAs on it): lmm:OUT/NAME or hf:OUT/NAME."""
    from zeroshift.zoo.lmm_train import train_hf as train_model

    console = Console()
    for n in name:
        result = train_model(n, out, steps=steps, seed=seed, size=size, threads=threads, progress=progress)
        kind = "lmm" if result.info.get("language_model") else "hf"
        console.print(f"{n}: validation top-1 {result.val_top1:.3f} in {result.seconds:.0f} s; {kind}:{result.folder}",
                      soft_wrap=True)  # fmt: skip
