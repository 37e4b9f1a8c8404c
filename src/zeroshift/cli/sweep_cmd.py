"""``zeroshift sweep PLAN.yaml``: models x suites as resumable tasks (one per model) on local processes or Ray."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from zeroshift.errors import UsageError
from zeroshift.paths import cache_dir, default_store

EXECUTORS = ("local", "ray")


def sweep(
    plan_file: Path = typer.Argument(
        ...,
        metavar="PLAN.yaml",
        help="The plan file (models and suites; docs/sweeps.md), or a shipped plan's name: example.",
    ),
    executor: str = typer.Option("local", "--executor", "-e", help="local (worker processes here) or ray."),
    workers: int = typer.Option(
        None,
        "--workers",
        "-w",
        help="local: worker processes [default: one per GPU, else 1]; ray: tasks at once [default: what fits].",
    ),
    address: str = typer.Option(None, "--address", help="ray: an existing cluster (HOST:PORT or auto)."),
    retries: int = typer.Option(2, "--retries", help="Retries of a failed task before it is reported failed."),
    store: str = typer.Option(
        None, "--store", help="Results store path or SQLAlchemy URL (PostgreSQL for a cluster) [default: local file]."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the tasks, images to encode and the compute; run none."
    ),
    data_root: Path = typer.Option(None, "--data-root", "-d", help="Folder with datasets in their published layouts."),
    limit: int = typer.Option(
        None, "--limit", help="A seeded subset of N samples per condition (replaces the plan's)."
    ),
    cpus_per_task: float = typer.Option(1.0, "--cpus-per-task", help="ray: CPUs each task asks for."),
    gpus_per_task: float = typer.Option(
        None, "--gpus-per-task", help="ray: GPUs each task asks for [default: 1 when the cluster has GPUs, else 0]."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda (local: one worker per GPU) or cuda:N."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 autocast on GPU), fp32, bf16 or fp16."),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per forward pass."),
    loader_workers: int = typer.Option(
        None, "--loader-workers", help="Loader processes per task [default: the task's CPUs minus one]."
    ),
    bootstrap: int = typer.Option(None, "--bootstrap", help="Bootstrap resamples (replaces the plan's; default 1000)."),
    save_samples: bool = typer.Option(False, "--save-samples", help="Store per-sample outputs."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (or the dry run) as one JSON object."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
) -> None:
    """Run a plan: one task per model (weights load once), every condition checked first, resumable, retried."""
    if executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if address and executor != "ray":
        raise UsageError("--address names a Ray cluster; add --executor ray")
    if retries < 0:
        raise UsageError(f"--retries must be 0 or more, got {retries}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if cpus_per_task <= 0 or (gpus_per_task is not None and gpus_per_task < 0):
        raise UsageError("--cpus-per-task must be positive and --gpus-per-task 0 or more")
    from zeroshift.sweep.planfile import read_plan

    resolved_address = None
    if executor == "ray" and address and not dry_run:
        from zeroshift.sweep.ray_exec import check_address

        resolved_address = check_address(address)  # before any work: an address that does not answer costs nothing
    plan = read_plan(plan_file)
    models, runs = plan.model_specs(), plan.runs()  # unknown suites and catalogue filters: one line, no work yet

    from zeroshift.engine.runner import Runner, RunOptions  # the engine (and torch) only once the plan reads well
    from zeroshift.sweep.tasks import build_tasks

    cores = os.cpu_count() or 1
    worker_device, n_workers, devices = _devices(executor, device, workers, gpus_per_task)
    cpus = cpus_per_task if executor == "ray" else max(1, cores // n_workers)
    threads = max(1, int(cpus))
    options = RunOptions(
        data_root=data_root,
        store=store or default_store(),
        cache_dir=cache_dir(),  # the driver's cache, named to every worker (shared by the nodes of a cluster)
        device=device,
        precision=precision,
        batch_size=batch_size,
        workers=loader_workers if loader_workers is not None else max(0, int(cpus) - 1),
        limit=limit if limit is not None else plan.limit,
        save_samples=save_samples,
        bootstrap=bootstrap if bootstrap is not None else (plan.bootstrap if plan.bootstrap is not None else 1000),
    )
    runner = _planning_runner(Runner, options, worker_device, dry_run)
    tasks = build_tasks(plan, runner, runs, models)  # every condition is checked here, before any work
    console = Console() if sys.stdout.isatty() else Console(width=200)  # logs: tables are not squeezed
    if dry_run:
        _dry_run(runner, tasks, console, as_json)
        return

    from zeroshift.sweep.driver import run_sweep
    from zeroshift.sweep.progress import SweepProgress, summary_table

    if executor == "ray":
        from zeroshift.sweep.ray_exec import RayExecutor

        chosen: Any = RayExecutor(resolved_address, workers, cpus_per_task, gpus_per_task)
    else:
        from zeroshift.sweep.local import LocalExecutor

        chosen = LocalExecutor(n_workers, devices)
    todo = sum(len(t.todo) for t in tasks)
    bars = SweepProgress(len(tasks), todo, enabled=progress and not as_json)
    skipped = sum(len(t.stored) for t in tasks)
    if skipped:
        bars.note(f"{skipped} condition(s) already in {runner.store.display if runner.store else 'the store'}: skipped")
    # Ray's driver prints cluster messages (a worker that died...) on stdout: they go to stderr with the progress,
    # so that stdout holds only the summary (--json: one JSON object)
    with contextlib.redirect_stdout(sys.stderr):
        summary = run_sweep(tasks, chosen, runner, options, retries, bars, threads, plan.digest)
    if as_json:
        print(json.dumps({**asdict(summary), "totals": summary.totals()}, default=str))
    else:
        console.print(summary_table(summary))
        console.print(summary.line(), soft_wrap=True, highlight=False)
    if summary.totals()["failed"]:
        raise typer.Exit(1)


def _devices(executor: str, device: str, workers: int | None, gpus: float | None) -> tuple[str, int, list[str]]:
    """The device type the workers compute on, the number of local workers and their devices."""
    import torch

    from zeroshift.engine.options import resolve_device

    if executor == "ray":
        cuda = gpus > 0 if gpus is not None else torch.cuda.is_available()
        wanted = "cpu" if device == "cpu" else ("cuda" if cuda else "cpu")
        return wanted, workers or 1, []
    resolved = resolve_device(device)
    if resolved.type == "cuda" and device in ("auto", "cuda"):
        gpu_count = torch.cuda.device_count()
        return "cuda", workers or gpu_count, [f"cuda:{i}" for i in range(gpu_count)]
    return resolved.type, workers or 1, [device if resolved.type == "cuda" else "cpu"]


def _planning_runner(runner_cls: Any, options: Any, device_type: str, dry_run: bool) -> Any:
    """The driver's runner: it checks and resolves conditions as the workers will (their device type sets the
    precision recorded in cache fingerprints) and never computes; a dry run opens no store that does not exist.
    """
    import dataclasses

    import torch

    planning = options
    if dry_run and "://" not in str(options.store) and not Path(str(options.store)).exists():
        planning = dataclasses.replace(options, store=None)
    local_cuda = torch.cuda.is_available()
    runner = runner_cls(dataclasses.replace(planning, device="cuda" if device_type == "cuda" and local_cuda else "cpu"))
    runner.device = torch.device(device_type)  # for the precision of fingerprints only: the driver never encodes
    return runner


def _dry_run(runner: Any, tasks: list[Any], console: Console, as_json: bool) -> None:
    from zeroshift.sweep.estimate import estimate, format_seconds

    estimates = estimate(runner, tasks)
    if as_json:
        out = [
            {
                "model": e.model,
                "conditions": [asdict(c) | {"seconds": c.seconds} for c in e.conditions],
                "stored": e.stored,
                "to_run": e.to_run,
                "images": e.images,
                "images_per_s": e.rate,
                "seconds": e.seconds,
            }
            for e in estimates
        ]
        print(json.dumps({"tasks": out}, default=str))
        return
    table = Table(title="sweep plan (dry run)", title_justify="left")
    for name in ("model", "conditions", "stored", "to run", "images to encode", "img/s measured", "compute"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for e in estimates:
        rate = f"{e.rate:.1f}" if e.rate else ("" if e.images == 0 else "unknown")
        table.add_row(e.model, str(len(e.conditions)), str(e.stored), str(e.to_run), str(e.images), rate,
                      format_seconds(e.seconds))  # fmt: skip
    console.print(table)
    for e in estimates:
        console.print(f"{e.model}:", highlight=False, markup=False)
        for c in e.conditions:
            what = "stored" if c.stored else f"{c.images} image(s) to encode"
            console.print(f"  {c.label}  [{what}]", highlight=False, markup=False, soft_wrap=True)
    total = [e.seconds for e in estimates]
    known = sum(s for s in total if s is not None)
    unknown = sum(1 for s in total if s is None)
    measured = unknown < len(total) or not total
    console.print(
        f"{len(estimates)} task(s), {sum(e.to_run for e in estimates)} condition(s) to run, "
        f"{sum(e.stored for e in estimates)} already stored, {sum(e.images for e in estimates)} image(s) to encode; "
        + (f"compute {format_seconds(known)}" if measured else "compute unknown")
        + (f" + {unknown} task(s) never measured (unknown)" if unknown and measured else "")
        + (f" ({unknown} task(s) never measured: no throughput in the store)" if unknown and not measured else ""),
        highlight=False,
        soft_wrap=True,
    )
