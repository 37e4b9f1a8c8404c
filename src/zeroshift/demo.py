"""``zeroshift demo``: every zoo model on every FactorWorld suite, offline, into one results database.

The demo is data: the ``demo`` preset (``presets/demo.yaml``) lists its models and its runs (benchmark x
shift x metric groups x prompt sets), so a new suite joins the demo by adding a line there. A run that names
a benchmark, shift or metric group that is not installed is skipped with a note. Fixed-head models (the
supervised classifiers) have no prompts, so each of their runs happens once. After the runs the demo writes
the HTML report of its results database, a summary table (top-1 per model and benchmark) and ``summary.json``.

Example:
    >>> plan = demo_plan(quick=True)
    >>> plan.models[:1], plan.limit
    (['zoo:clip-cnn-diverse'], 48)

"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zeroshift.errors import SpecError, UsageError
from zeroshift.results.schema import RunRecord
from zeroshift.specs import CallSpec
from zeroshift.suites import SuiteRun, expand_suite, load_suite


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
    report: Path
    notes: list[str]
    seconds: float


def _expand_models(entries: list[str]) -> list[str]:
    from zeroshift.models.zoo import ZooModel

    models = [m for entry in entries for m in ([f"zoo:{n}" for n in ZooModel.names()] if entry == "zoo:*" else [entry])]
    return list(dict.fromkeys(models))


def _missing_name(run: SuiteRun) -> str | None:
    """The first registry name a run uses that is not installed (None when all are)."""
    from zeroshift.data import benchmarks
    from zeroshift.metrics import groups as metrics
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


@dataclass(frozen=True)
class HeadlineColumn:
    """One column of the demo's headline table: the mean of ``metric`` over the records of one condition.

    ``benchmark`` is a canonical spec (defaults filled in, as records hold it); ``shift`` is a shift name (any
    parameters match) or a spec whose given parameters must match.
    """

    label: str
    benchmark: str
    metric: str
    shift: str | None = None
    prompts: str = "openai"

    def matches(self, record: RunRecord) -> bool:
        """Whether ``record`` measured this column's condition (fixed-head models have only the default column)."""
        if record.benchmark != self.benchmark:
            return False
        zero_shot = record.model_info.get("kind") == "zero_shot"
        if record.prompts != self.prompts if zero_shot else self.prompts != "openai":
            return False
        if self.shift is None or record.shift is None:
            return self.shift is None and record.shift is None
        want, got = CallSpec.parse(self.shift), CallSpec.parse(record.shift)
        return want.name == got.name and all(got.kwargs.get(k) == v for k, v in want.params)


def headline_columns(preset: str = "demo") -> list[HeadlineColumn]:
    """The ``headline`` columns of a demo preset.

    Example:
        >>> [c.label for c in headline_columns()][:3]
        ['clean', 'simple', 'sketch']

    """
    from zeroshift.data import make_benchmark

    columns = []
    for entry in load_suite(preset).get("headline") or []:
        fields = {k: str(v) for k, v in entry.items()}
        fields["benchmark"] = make_benchmark(fields["benchmark"], None).canonical  # as records hold it
        columns.append(HeadlineColumn(**fields))
    return columns


def headline(records: list[RunRecord], preset: str = "demo") -> dict[str, dict[str, float]]:
    """Model -> column label -> value (mean over the column's records; absent when none measured it).

    Example:
        >>> headline([])
        {}

    """
    out: dict[str, dict[str, float]] = {}
    for column in headline_columns(preset):
        per_model: dict[str, list[float]] = {}
        for r in records:
            value = r.metric(column.metric) if column.matches(r) else None
            if value is not None:
                per_model.setdefault(r.model, []).append(value.value)
        for model, values in per_model.items():
            out.setdefault(model, {})[column.label] = sum(values) / len(values)
    return out


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
    """Run the demo into ``out`` (``results.db``, ``summary.json``, ``report.html``).

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
    from zeroshift.engine.plan import drop_unsupported
    from zeroshift.engine.plan import plan as plan_items
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
        # a demo run again into the same folder (or after an interruption) reuses the records it already has
        skip_existing=True,
    )
    runner = Runner(options)
    # benchmark-major order: the images of one benchmark are rendered once and reused by every model
    items = plan_items(plan.models, plan.runs, facts=runner.model_facts, order="benchmark")
    items, skipped = drop_unsupported(items, runner.resolve, runner.options.bootstrap)
    plan.notes.extend(skipped)
    for item in items:  # every item is checked before the first one runs
        runner.check(item)
    records: list[RunRecord] = []
    for item in items:
        record = runner.run(item)
        records.append(record)
        if on_record is not None:
            on_record(record)
    from zeroshift.reports.html import build_report

    notes = list(plan.notes)
    report = out / "report.html"
    build_report(str(store), report, title="zeroshift demo: the zoo on FactorWorld")
    seconds = time.perf_counter() - started
    summary = {
        "store": str(store),
        "report": str(report),
        "quick": quick,
        "models": plan.models,
        "notes": notes,
        "seconds": round(seconds, 1),
        "headline": headline(records, preset),
        "rows": summary_rows(records),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return DemoResult(out, store, records, report, notes, seconds)
