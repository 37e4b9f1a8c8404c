"""Planning: models x runs -> plan items, each checked before any work.

A :class:`PlanItem` is one condition and the metric groups (with their parameters) computed on it; the CLI
(``zeroshift run``), the demo and the Python API build their items here, check every one of them up front
(:func:`check_item`: names, parameters, data folders of the condition and of every related condition its groups
declared, whether each group applies) and hand them to the runner, which never changes its options between runs.

Example:
    >>> from zeroshift.suites import SuiteRun
    >>> items = plan(["zoo:sup-cnn-tiny"], [SuiteRun("factorworld(n=8)", None, None, None, ("openai", "simple"))])
    >>> [(str(i.spec.benchmark), i.spec.prompts) for i in items]
    [('factorworld(n=8)', 'openai'), ('factorworld(n=8)', 'simple')]

"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zeroshift.data.base import Benchmark
from zeroshift.errors import DatasetError
from zeroshift.metrics import DEFAULT_BOOTSTRAP, groups
from zeroshift.metrics.group import MetricGroup, Params
from zeroshift.models.facts import ModelFacts
from zeroshift.shifts.base import Shift
from zeroshift.specs import ModelSpec, RunSpec
from zeroshift.suites import SuiteRun


@dataclass(frozen=True)
class PlanItem:
    """One condition to evaluate and the metric groups to compute on it.

    Attributes:
        spec: the condition.
        groups: metric group names (None: the benchmark's defaults and those the shift adds).
        params: user parameters per group (``{"calibration": {"n_bins": 10}}``); bootstrap settings come from the
            run options unless a group's parameters name them.

    """

    spec: RunSpec
    groups: tuple[str, ...] | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def group_names(self, benchmark: Benchmark, shift: Shift | None) -> tuple[str, ...]:
        """The groups this item computes on ``benchmark`` under ``shift``."""
        return tuple(self.groups) if self.groups else default_groups(benchmark, shift)

    def resolved(self, benchmark: Benchmark, shift: Shift | None, n_boot: int) -> list[tuple[MetricGroup, Params]]:
        """Each group with its parameters resolved and checked (SpecError on a bad one)."""
        boot = {**DEFAULT_BOOTSTRAP, "n_boot": n_boot}
        return [
            (groups.get(name), groups.get(name).resolve({**boot, **self.params.get(name, {})}))
            for name in self.group_names(benchmark, shift)
        ]


def default_groups(benchmark: Benchmark, shift: Shift | None) -> tuple[str, ...]:
    """The benchmark's default metric groups followed by those the shift adds (e.g. ``typographic``).

    Example:
        >>> from zeroshift.data import make_benchmark
        >>> from zeroshift.shifts import make_shift
        >>> default_groups(make_benchmark("imagenet_r", None), make_shift("pgd(eps=0.01)"))
        ('accuracy', 'adversarial')

    """
    extra = shift.metric_groups if shift is not None else ()
    return tuple(benchmark.metric_groups) + tuple(g for g in extra if g not in benchmark.metric_groups)


def plan(
    models: Sequence[str | ModelSpec],
    runs: Sequence[SuiteRun],
    prompts: Sequence[str] | None = None,
    label_space: str | None = None,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    facts: Callable[[str], ModelFacts] | None = None,
    order: str = "model",
    notes: list[str] | None = None,
) -> list[PlanItem]:
    """Plan items for every model x run x prompt set.

    A run's own metric groups win over ``metrics``, which wins over the defaults; ``prompts`` replaces a run's prompt
    sets. With ``facts`` (a model's cached facts), models without a text head get one item per run, whatever the
    prompt sets (prompts do not change a fixed-head classifier). ``order`` is ``model`` (every run of a model, then
    the next model: its weights load once) or ``benchmark`` (every model on a run, then the next run: the images of a
    generated benchmark are rendered once). With ``facts`` and a ``notes`` list, a fixed-head model is left out of
    the runs whose label space is of another class universe (a retrieval set has none), with one note each.
    """
    if order not in ("model", "benchmark"):
        raise ValueError(f"order must be 'model' or 'benchmark', got {order!r}")
    pairs = [(m, r) for m in models for r in runs] if order == "model" else [(m, r) for r in runs for m in models]
    items = []
    for model, run in pairs:
        if facts is not None and notes is not None:
            reason = unsupported(facts(str(model)), run, label_space)
            if reason is not None:
                note = f"skipped {model} on {run.benchmark} (every shift): {reason}"
                if note not in notes:  # one note per model and benchmark, whatever the shifts
                    notes.append(note)
                continue
        sets = list(prompts or run.prompts or ["openai"])
        if facts is not None and len(sets) > 1 and not facts(str(model)).has_text_head:
            sets = sets[:1]
        chosen = run.metrics or (tuple(metrics) if metrics else None)
        for prompt_set in sets:
            spec = RunSpec.make(model, run.benchmark, run.shift, prompt_set, label_space or run.label_space, seed)
            items.append(PlanItem(spec, chosen, dict(params or {})))
    return items


def unsupported(facts: ModelFacts, run: SuiteRun, label_space: str | None = None) -> str | None:
    """Why a model cannot run ``run`` at all (None when it can): a fixed head over another class universe.

    Example:
        >>> facts = ModelFacts("zoo:sup", {}, "fixed_head", "zoo", "factorworld", 1.0, 0.0, {}, {})
        >>> unsupported(facts, SuiteRun("factorworld_retrieval(n=8)", None, None, None, ("openai",)))
        "zoo:sup is a fixed-head classifier over factorworld; factorworld_retrieval's label space 'none' is not"
        >>> unsupported(facts, SuiteRun("factorworld(n=8)", None, None, None, ("openai",))) is None
        True

    """
    from zeroshift.data import make_benchmark
    from zeroshift.errors import ZeroshiftError

    if facts.has_text_head:
        return None
    try:
        benchmark = make_benchmark(run.benchmark, None)
        space = benchmark.label_space(benchmark.resolve_label_space(label_space or run.label_space))
    except ZeroshiftError:  # a layout or name problem: check_item reports it in one line
        return None
    if space.universe == facts.universe:
        return None
    return (
        f"{facts.spec} is a fixed-head classifier over {facts.universe}; {benchmark.name}'s label space "
        f"{space.name!r} is not"
    )


def check_item(item: PlanItem, resolve: Callable[..., Any], n_boot: int) -> None:
    """Check one item before any work: the condition, each group's parameters and applicability, and the data of
    every related condition the groups declared (raises UsageError/SpecError/DatasetError with one line).
    """
    from zeroshift.engine.relations import related_spec

    cond = resolve(item.spec)
    if cond.shift is not None:
        cond.shift.check_condition(cond.benchmark, cond.dataset)
    for group, params in item.resolved(cond.benchmark, cond.shift, n_boot):
        group.applies(cond.benchmark, cond.shift)
        for need in group.needs_for(params):
            if need.relation is not None:
                spec = related_spec(cond, need.relation, need.overrides)
                try:
                    resolve(spec)
                except DatasetError as err:
                    what = need.relation.replace("_", "-")
                    raise DatasetError(
                        f"{cond.benchmark.name} ({group.name}) is compared with its {what} set "
                        f"{spec.benchmark.canonical}; {err}"
                    ) from None
    for name, given in item.params.items():
        groups.get(name).check_params(**given)  # parameters of a group this item does not run are checked too
