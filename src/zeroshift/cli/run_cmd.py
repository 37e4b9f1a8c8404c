"""``zeroshift run``: models x benchmarks (or a suite) x shifts x prompt sets, each one RunRecord."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from zeroshift.cli.options import parse_group_params, parse_pairs
from zeroshift.cli.render import records_table
from zeroshift.errors import UsageError
from zeroshift.metrics import groups
from zeroshift.paths import default_store
from zeroshift.specs import ModelSpec
from zeroshift.suites import SuiteRun, expand_suite


def run(
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="Model spec, repeatable (open_clip:ARCH@TAG|PATH, "
        "hf:REPO|DIR, timm:NAME, zoo:NAME, random:open_clip/ARCH?seed=0).",
    ),
    benchmark: list[str] = typer.Option(None, "--benchmark", "-b", help="Benchmark spec, repeatable."),
    suite: str = typer.Option(None, "--suite", "-s", help="A suite name or YAML file (see `zeroshift ls suites`)."),
    shift: list[str] = typer.Option(
        None, "--shift", help="Shift spec, repeatable, e.g. \"corruption(name='fog',severity=3)\"."
    ),
    prompts: list[str] = typer.Option(
        None, "--prompts", "-p", help="Prompt set name or file, repeatable [default: openai]."
    ),
    label_space: str = typer.Option(None, "--label-space", help="Label-space protocol (default: the benchmark's)."),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    store: str = typer.Option(
        None, "--store", help="Results store path or SQLAlchemy URL [default: zeroshift-results.db]."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 autocast on GPU), fp32, bf16 or fp16."),
    attack_precision: str = typer.Option(
        "fp32", "--attack-precision", help="Precision attacks are optimised and scored in: fp32, bf16 or fp16."
    ),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per forward pass."),
    workers: int = typer.Option(None, "--workers", help="Loader worker processes [default: half the cores]."),
    limit: int = typer.Option(None, "--limit", help="Evaluate a seeded random subset of N samples (quick look)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --limit subsets, corruptions and attacks."),
    save_samples: bool = typer.Option(False, "--save-samples", help="Store per-sample outputs."),
    on_bad_image: str = typer.Option("skip", "--on-bad-image", help="skip (count and go on) or fail."),
    metric: list[str] = typer.Option(None, "--metrics", help="Metric groups instead of the benchmark's defaults."),
    metric_param: list[str] = typer.Option(None, "--metric-param", help="GROUP.KEY=VALUE, e.g. calibration.n_bins=15."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for 95% intervals (0: none)."),
    model_meta: list[str] = typer.Option(
        None,
        "--model-meta",
        help="KEY=VALUE model metadata (training_data, data_size, loss, fine_tuned, architecture, family).",
    ),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Let hf: models run code from the hub."),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="Reuse stored records of conditions already evaluated (same weights, data, protocol).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON lines."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Evaluate models on benchmarks and write one record per condition to the results store."""
    from zeroshift.engine.plan import drop_unsupported, plan  # the engine (and torch): computing commands only
    from zeroshift.engine.runner import Runner, RunOptions

    if bool(benchmark) == bool(suite) and not (suite and benchmark):
        raise UsageError("give --benchmark (one or more) or --suite")
    for group in metric or []:
        groups.get(group)
    options = RunOptions(
        data_root=data_root,
        store=store or default_store(),
        device=device,
        precision=precision,
        attack_precision=attack_precision,
        batch_size=batch_size,
        workers=workers,
        limit=limit,
        save_samples=save_samples,
        on_bad_image=on_bad_image,
        bootstrap=bootstrap,
        model_meta=parse_pairs(model_meta, "--model-meta"),
        progress=progress and not as_json,
        skip_existing=skip_existing,
    )
    if suite:
        planned = expand_suite(suite, list(benchmark) if benchmark else None)
    else:
        planned = [SuiteRun(b, None, None, None) for b in benchmark]
    if shift:
        planned = [
            SuiteRun(p.benchmark, s, p.label_space, p.metrics, p.prompts, p.models) for p in planned for s in shift
        ]
    models = []
    for m in model:
        spec = ModelSpec.parse(m)
        if trust_remote_code:
            spec = ModelSpec(
                spec.scheme,
                spec.name,
                spec.ref,
                tuple(sorted({**spec.option_dict, "trust_remote_code": "true"}.items())),
            )
        models.append(spec)
    runner = Runner(options)
    items = plan(
        models,
        planned,
        prompts=prompts or None,
        label_space=label_space,
        seed=seed,
        metrics=tuple(metric) if metric else None,
        params=parse_group_params(metric_param),
        facts=runner.model_facts,
    )
    # what a model cannot serve (a fixed head on a retrieval set, no dense features): left out with one note each
    items, notes = drop_unsupported(items, runner.resolve, runner.options.bootstrap)
    if not items and notes:
        raise UsageError(f"nothing to run: {notes[0]}")
    for item in items:  # every planned run is checked before the first one starts: a bad spec costs nothing
        runner.check(item)
    console = Console()
    for note in notes:
        Console(stderr=True).print(note, soft_wrap=True, markup=False)
    records = []
    for item in items:
        record = runner.run(item)
        records.append(record)
        if as_json:
            print(record.to_json(), flush=True)
    if not as_json:
        console.print(records_table(records))
        console.print(
            f"{len(records)} record(s) written to {runner.store.display}" if runner.store else "", soft_wrap=True
        )
