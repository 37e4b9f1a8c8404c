"""Tasks of a sweep: one per model, each the list of its plan items (its conditions) in order.

A model's weights load once per task and serve every condition of it. Every item is checked before any work
(:meth:`~zeroshift.engine.runner.Runner.check`), and items whose condition is already in the store with the same
fingerprints are marked stored: a sweep run again does only what is missing (:func:`stored_record`, the store check
of ``Runner.existing``: model fingerprint, dataset fingerprint, benchmark, shift, label space, seed, limit, metric
groups and their parameters, prompt set).

Example:
    >>> from zeroshift.engine.runner import Runner, RunOptions
    >>> from zeroshift.sweep.planfile import parse_plan
    >>> plan = parse_plan({"models": ["zoo:sup-cnn-tiny", "zoo:clip-cnn-diverse"],
    ...                    "suites": ["calibration"], "prompts": ["openai", "simple"]})
    >>> from zeroshift.suites import SuiteRun
    >>> runs = [SuiteRun("factorworld(n=8)", None, None, None)]
    >>> tasks = build_tasks(plan, Runner(RunOptions()), runs=runs)
    >>> [(t.model, len(t.items)) for t in tasks]  # a fixed-head classifier has no prompts: one item per run
    [('zoo:sup-cnn-tiny', 1), ('zoo:clip-cnn-diverse', 2)]

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zeroshift.engine.plan import PlanItem, drop_unsupported, plan
from zeroshift.suites import SuiteRun

if TYPE_CHECKING:
    from zeroshift.engine.runner import Runner
    from zeroshift.results.schema import RunRecord
    from zeroshift.sweep.planfile import SweepPlan


@dataclass
class Task:
    """The conditions of one model, in order; ``stored`` are the indices of items already in the store."""

    index: int
    model: str
    items: list[PlanItem]
    stored: set[int] = field(default_factory=set)

    @property
    def todo(self) -> list[int]:
        """Indices of the items still to run."""
        return [i for i in range(len(self.items)) if i not in self.stored]

    def describe(self, index: int) -> str:
        """A readable name of one of its conditions."""
        spec = self.items[index].spec
        parts = [spec.benchmark.canonical]
        if spec.shift is not None:
            parts.append(spec.shift.canonical)
        parts.append(spec.prompts)
        return " | ".join(parts)


def plan_items(
    sweep: SweepPlan,
    runner: Runner,
    runs: Sequence[SuiteRun] | None = None,
    models: Sequence[str] | None = None,
    notes: list[str] | None = None,
) -> list[PlanItem]:
    """The plan items of every model x run x prompt set, model by model (``zeroshift run``'s expansion); ``runs`` and
    ``models`` replace the plan's when given (already expanded). With ``notes``, the items a model cannot serve (a
    fixed head on another class universe, a group's model check) are left out with a note, as ``zeroshift run`` does.
    """
    items = plan(
        sweep.model_specs() if models is None else list(models),
        sweep.runs() if runs is None else list(runs),
        prompts=sweep.prompts,
        label_space=sweep.label_space,
        seed=sweep.seed,
        metrics=sweep.metrics,
        params=sweep.metric_params,
        facts=runner.model_facts,
        order="model",
    )
    if notes is None:
        return items
    items, skipped = drop_unsupported(items, runner.resolve, runner.options.bootstrap)
    notes.extend(skipped)
    return items


def build_tasks(
    sweep: SweepPlan,
    runner: Runner,
    runs: Sequence[SuiteRun] | None = None,
    models: Sequence[str] | None = None,
    check_store: bool = True,
    notes: list[str] | None = None,
) -> list[Task]:
    """One task per model, every item checked first; items already in ``runner``'s store are marked stored (and with
    ``notes``, the items a model cannot serve left out with a note).
    """
    items = plan_items(sweep, runner, runs, models, notes)
    for item in items:  # every condition of every model is checked before the first one runs
        runner.check(item)
    tasks: dict[str, Task] = {}
    for item in items:
        model = str(item.spec.model)
        if model not in tasks:
            tasks[model] = Task(len(tasks), model, [])
        tasks[model].items.append(item)
    out = list(tasks.values())
    if check_store and runner.store is not None:
        for task in out:
            task.stored = {i for i, item in enumerate(task.items) if stored_record(runner, item) is not None}
    return out


def stored_record(runner: Runner, item: PlanItem) -> RunRecord | None:
    """The stored record of exactly this item's condition and protocol, if ``runner``'s store has one."""
    cond = runner.resolve(item.spec)
    chosen = item.resolved(cond.benchmark, cond.shift, runner.options.bootstrap)
    user_params: dict[str, Any] = {name: dict(p) for name, p in item.params.items()}
    return runner.existing(cond, chosen, user_params)


__all__ = ["Task", "build_tasks", "plan_items", "stored_record"]
