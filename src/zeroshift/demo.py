"""``zeroshift demo``: every zoo model on every FactorWorld suite, offline, into one results database.

The demo is data: the ``demo`` preset (``presets/demo.yaml``) lists its models and its runs (benchmark x
shift x metric groups x prompt sets), so a new suite joins the demo by adding a line there. A run that names
a benchmark, shift or metric group that is not installed is skipped with a note. Fixed-head models (the
supervised classifiers) have no prompts, so each of their runs happens once. After the runs the demo writes
the report when a report module is installed, a summary table (top-1 per model and benchmark) and
``summary.json``.

Example:
    >>> plan = demo_plan(quick=True)
    >>> plan.models[:1], plan.limit
    (['zoo:clip-cnn-diverse'], 96)

"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zeroshift.errors import SpecError, UsageError
from zeroshift.results.schema import RunRecord
from zeroshift.specs import CallSpec, RunSpec
from zeroshift.suites import SuiteRun, expand_suite, load_suite

#: where the report builder is looked for: (module, function(store, output_path))
REPORT_HOOKS = (("zeroshift.reports.html", "write_report"), ("zeroshift.reports", "write_report"))


@dataclass
class DemoPlan:
    """The runs of a demo: models, suite runs, the subset size and bootstrap resamples, and skip notes."""

    models: list[str]
    runs: list[SuiteRun]
    limit: int | None
    bootstrap: int
    notes: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    """What a demo produced."""

    out: Path
    store: Path
    records: list[RunRecord]
    report: Path | None
    notes: list[str]
    seconds: float


def _expand_models(entries: list[str]) -> list[str]:
    from zeroshift.models.zoo import ZooModel

    models: list[str] = []
    for entry in entries:
        models.extend(f"zoo:{n}" for n in ZooModel.names()) if entry == "zoo:*" else models.append(entry)
    return list(dict.fromkeys(models))


def _missing_name(run: SuiteRun) -> str | None:
    """The first registry name a run uses that is not installed (None when all are)."""
    from zeroshift.data import benchmarks
    from zeroshift.metrics import metrics
    from zeroshift.shifts import shifts

    checks = [("benchmark", benchmarks, CallSpec.parse(run.benchmark).name)]
    if run.shift:
        checks.append(("shift", shifts, CallSpec.parse(run.shift).name))
    checks.extend(("metric group", metrics, m) for m in run.metrics or ())
    for kind, registry, name in checks:
        if name not in registry:
            return f"{kind} {name!r}"
    return None


def demo_plan(quick: bool = False, preset: str = "demo") -> DemoPlan:
    """Read the demo preset: the models and runs (``quick``: the preset's ``quick`` models and subset)."""
    suite = load_suite(preset)
    quick_cfg = suite.get("quick") or {}
    models = _expand_models(list(quick_cfg.get("models") or suite.get("models") or []) if quick else
                            list(suite.get("models") or []))  # fmt: skip
    if not models:
        raise SpecError(f"suite {preset!r} names no models for the demo")
    plan = DemoPlan(
        models,
        [],
        int(quick_cfg["limit"]) if quick and quick_cfg.get("limit") else None,
        int(quick_cfg.get("bootstrap", 1000)) if quick else int(suite.get("bootstrap", 1000)),
    )
    for run in expand_suite(preset):
        missing = _missing_name(run)
        if missing is None:
            plan.runs.append(run)
        else:
            plan.notes.append(
                f"skipped {run.benchmark}{' + ' + run.shift if run.shift else ''}: {missing} is not installed"
            )
    return plan


def _write_report(store: Path, out: Path, notes: list[str]) -> Path | None:
    for module_name, attr in REPORT_HOOKS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        builder = getattr(module, attr, None)
        if builder is None:
            continue
        path = out / "report.html"
        builder(str(store), path)
        return path
    notes.append("report: no report module is installed yet (zeroshift.reports); the results are in the database")
    return None


def summary_rows(records: list[RunRecord]) -> list[dict[str, Any]]:
    """One row per record: model, benchmark, shift, prompts, top-1 with its interval and the sample count."""
    rows = []
    for r in records:
        top1 = next((m for m in r.metrics if m.name == "top1"), None)
        rows.append(
            {
                "model": r.model,
                "benchmark": CallSpec.parse(r.benchmark).name,
                "shift": r.shift,
                "prompts": r.prompts,
                "top1": None if top1 is None else top1.value,
                "ci_low": None if top1 is None else top1.ci_low,
                "ci_high": None if top1 is None else top1.ci_high,
                "n": r.counts.get("evaluated"),
            }
        )
    return rows


def run_demo(
    out: str | Path = "demo-out",
    quick: bool = False,
    preset: str = "demo",
    progress: bool = True,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    workers: int = 0,
    on_record: Any = None,
) -> DemoResult:
    """Run the demo into ``out`` (``results.db``, ``summary.json``, the report when available).

    Args:
        out: output folder (created).
        quick: the preset's quick plan (fewer models, a seeded subset of each benchmark).
        preset: the suite to run.
        progress: draw progress bars.
        cache_dir: artefact cache (default ``$ZEROSHIFT_CACHE`` or the platform cache dir).
        device: ``auto``, ``cpu`` or ``cuda``.
        workers: loader worker processes; 0 (the default) renders FactorWorld in this process, where
            images rendered for one model are reused by the next.
        on_record: called with each RunRecord as it is written.

    """
    from zeroshift.engine.runner import Runner, RunOptions

    started = time.perf_counter()
    plan = demo_plan(quick, preset)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    store = out / "results.db"
    options = RunOptions(
        store=str(store),
        cache_dir=cache_dir,
        device=device,
        workers=workers,
        limit=plan.limit,
        bootstrap=plan.bootstrap,
        progress=progress,
    )
    runner = Runner(options)
    records: list[RunRecord] = []
    kinds = {model: runner.model_facts(runner.handle(model))["kind"] for model in plan.models}
    # benchmark-major order: the images of one benchmark are rendered once and reused by every model
    for run in plan.runs:
        for model in plan.models:
            prompt_sets = list(run.prompts or ["openai"]) if kinds[model] == "zero_shot" else ["openai"]
            for prompts in prompt_sets:
                runner.options.metrics = run.metrics
                record = runner.run(RunSpec.make(model, run.benchmark, run.shift, prompts, run.label_space))
                records.append(record)
                if on_record is not None:
                    on_record(record)
    notes = list(plan.notes)
    report = _write_report(store, out, notes)
    seconds = time.perf_counter() - started
    summary = {
        "store": str(store),
        "report": str(report) if report else None,
        "quick": quick,
        "models": plan.models,
        "notes": notes,
        "seconds": round(seconds, 1),
        "rows": summary_rows(records),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return DemoResult(out, store, records, report, notes, seconds)
