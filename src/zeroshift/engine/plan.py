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
from zeroshift.errors import DatasetError, UsageError
from zeroshift.metrics import DEFAULT_BOOTSTRAP, groups
from zeroshift.metrics.group import MetricGroup, Params
from zeroshift.models import adapters
from zeroshift.models.facts import SCORING, ModelFacts
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
) -> list[PlanItem]:
    """Plan items for every model x run x prompt set.

    A run's own metric groups win over ``metrics``, which wins over the defaults; ``prompts`` replaces a run's prompt
    sets. With ``facts`` (a model's cached facts), models without a text head get one item per run, whatever the
    prompt sets (prompts do not change a fixed-head classifier). ``order`` is ``model`` (every run of a model, then
    the next model: its weights load once) or ``benchmark`` (every model on a run, then the next run: the images of a
    generated benchmark are rendered once). What a model cannot serve is left out afterwards, with one note per model
    and reason (:func:`drop_unsupported`), and a fixed head on another class universe is refused by the check.
    """
    if order not in ("model", "benchmark"):
        raise ValueError(f"order must be 'model' or 'benchmark', got {order!r}")
    # a run that names its own models (``models:`` in a suite) runs on those instead of the command's models
    every = list(dict.fromkeys([*models, *(m for r in runs for m in r.models or ())]))
    if order == "model":
        pairs = [(m, r) for m in every for r in runs if m in (r.models or models)]
    else:
        pairs = [(m, r) for r in runs for m in (r.models or models)]
    items = []
    for model, run in pairs:
        sets = list(prompts or run.prompts or ["openai"])
        if facts is not None and len(sets) > 1 and not facts(str(model)).has_text_head:
            sets = sets[:1]
        chosen = run.metrics or (tuple(metrics) if metrics else None)
        for prompt_set in sets:
            spec = RunSpec.make(model, run.benchmark, run.shift, prompt_set, label_space or run.label_space, seed)
            items.append(PlanItem(spec, chosen, dict(params or {})))
    return items


def unsupported_group(item: PlanItem, resolve: Callable[..., Any], n_boot: int) -> str | None:
    """Why the item's model cannot serve one of its metric groups (a group's ``model_check``), or None."""
    cond = resolve(item.spec)
    for group, params in item.resolved(cond.benchmark, cond.shift, n_boot):
        if group.model_check is None:  # most groups ask nothing of the model: no facts read (a dry run writes none)
            continue
        why = group.unsupported(cond.facts, params)
        if why is not None:
            return f"{group.name}: {why}"
    return None


def drop_unsupported(
    items: Sequence[PlanItem], resolve: Callable[..., Any], n_boot: int
) -> tuple[list[PlanItem], list[str]]:
    """The items whose models serve all their groups, and one note per model and reason for the others.

    Example:
        >>> from zeroshift.engine.runner import Runner
        >>> runner = Runner()
        >>> items = plan(["zoo:sup-cnn-tiny"], [SuiteRun("factorworld(n=8)", None, None, None)])
        >>> kept, notes = drop_unsupported(items, runner.resolve, 0)
        >>> len(kept), notes
        (1, [])

    """
    kept, notes = [], {}
    for item in items:
        why = unsupported_group(item, resolve, n_boot)
        if why is None:
            kept.append(item)
            continue
        key = (str(item.spec.model), why)
        notes.setdefault(key, []).append(item.spec.benchmark.canonical)
    lines = [f"skipped {model} on {', '.join(dict.fromkeys(b))}: {why}" for (model, why), b in notes.items()]
    return kept, lines


def servable(
    chosen: Sequence[tuple[MetricGroup, Params]], facts: ModelFacts
) -> tuple[list[tuple[MetricGroup, Params]], dict[str, str]]:
    """The groups a model can serve, and a note for each it cannot (name -> why).

    A model without an image encoder (an LMM: ``SCORING[kind]["encoder"]`` is False) scores classes itself, so it
    gives no artefact read off an encoder (features, patch embeddings), no text head and no input gradients; the
    groups that declare such an artefact are skipped with a note instead of failing the run.

    Example:
        >>> facts = ModelFacts("lmm:x", {}, "lmm", "transformers", None, 1.0, 0.0, {}, {})
        >>> group = groups.get("min_epsilon")
        >>> kept, notes = servable([(group, group.resolve({}))], facts)
        >>> kept, list(notes)
        ([], ['min_epsilon'])

    """
    from zeroshift.artefacts import kinds

    if facts.has_encoder:
        return list(chosen), {}
    kept, notes = [], {}
    for group, params in chosen:
        names = sorted({a for need in group.needs_for(params) for a in need.artefacts})
        blocked = [a for a in names if a == "features" or kinds.get(a).reads or kinds.get(a).grad
                   or kinds.get(a).keyed_by == "text"]  # fmt: skip
        if blocked:
            notes[group.name] = f"{facts.spec} has no image encoder; {group.name} reads {', '.join(blocked)}"
        else:
            kept.append((group, params))
    return kept, notes


def check_shift_needs(cond: Any) -> None:
    """Check what a shift reads of the clean images (``Shift.needs``) with each artefact kind's own check, before
    any image is encoded: a 3D corruption's depth source (a folder missing maps, a folder or hub id that is not a
    depth model) fails here with one line, not after the runs planned before it.

    Example:
        >>> from zeroshift.engine.runner import Runner
        >>> from zeroshift.specs import RunSpec
        >>> shift = "corruption3d(name='fog_3d', severity=1, depth='dpt:/no/such/model')"
        >>> check_shift_needs(Runner().resolve(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=4)", shift)))
        Traceback (most recent call last):
        ...
        zeroshift.errors.ModelLoadError: dpt:/no/such/model: no depth model folder at /no/such/model

    """
    from zeroshift.artefacts import kinds

    for name, params in cond.shift.needs().items():
        kind = kinds.get(name)
        if kind.check is not None:
            kind.check(cond, kind.resolve(params))


def check_item(item: PlanItem, resolve: Callable[..., Any], n_boot: int) -> None:
    """Check one item before any work: the condition, what its shift reads (:func:`check_shift_needs`), each group's
    parameters and applicability, and the data of every related condition the groups declared (raises
    UsageError/SpecError/DatasetError with one line).
    """
    from zeroshift.engine.relations import related_spec

    cond = resolve(item.spec)
    if cond.shift is not None:
        cond.shift.check_condition(cond.benchmark, cond.dataset)
        check_shift_needs(cond)
    kept = item.resolved(cond.benchmark, cond.shift, n_boot)
    if not SCORING[getattr(adapters.get(cond.handle.spec.scheme), "kind", "zero_shot")].get("encoder", True):
        # the backend declares it without loading the model: only an encoder-less model (an LMM) reads its facts here
        kept, _ = servable(kept, cond.facts)
    for group, params in kept:
        group.applies(cond.benchmark, cond.shift)
        why = None if group.model_check is None else group.unsupported(cond.facts, params)
        if why is not None:  # the planner leaves such items out with a note; the Python API is refused here
            raise UsageError(f"{cond.facts.spec}: {group.name}: {why}")
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
