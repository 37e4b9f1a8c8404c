"""The metric-group contract: a typed declaration, the inputs a group reads, the result it returns.

A **metric group** is a pure ``compute(inputs, params) -> GroupResult`` registered with :func:`metric_group` next to
its code. Its declaration says everything the engine, the CLI and the report need to know without running it:

* ``metrics``: the metric names it produces (patterns such as ``top{k}`` or ``{score}_auroc``), each with its
  direction and a display label (the report takes its labels from here);
* ``params``: its parameters with defaults and allowed values (checked before any work; ``zeroshift ls metrics``);
* ``needs``: which artefacts it reads beyond class scores and which related conditions (``clean``: the same
  benchmark without the shift; ``in_distribution``: the benchmark's in-distribution set), so that the engine
  encodes what they need in one pass;
* ``check``: whether it applies to a benchmark and shift (``ood`` needs an OOD set, ``adversarial`` an attack).

The inputs a group sees (:class:`GroupInputs`) are a small protocol: the outputs of its condition, artefacts, the
shift's parameters, the model's facts and the related conditions it declared, never the runner. A group returns
its values, the protocol entries to record and per-sample columns (:class:`GroupResult`) instead of mutating
anything.

Example:
    >>> from zeroshift.metrics.base import MetricValue
    >>> @metric_group("demo_mean", metrics=(MetricSpec("mean_label", "mean label", True),), register=False)
    ... def demo_mean(inputs, params):
    ...     return GroupResult([MetricValue("mean_label", float(inputs.outputs.labels.mean()), True)])
    >>> demo_mean.metric_names()
    ['mean_label']
    >>> demo_mean.needs_for(demo_mean.resolve({}))
    ()

"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from zeroshift.errors import SpecError, UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue
from zeroshift.params import Param, non_negative_int, probability, resolve_params
from zeroshift.registry import Registry

if TYPE_CHECKING:
    from zeroshift.core.outputs import Outputs
    from zeroshift.data.base import Benchmark, LabelSpace
    from zeroshift.models.facts import ModelFacts
    from zeroshift.shifts.base import Shift

#: the related conditions a group may declare (the engine resolves them; see ``engine/relations.py``)
RELATIONS = {
    "clean": "the same benchmark and label space without the shift",
    "in_distribution": "the benchmark's in-distribution set, clean (the benchmark itself when it has none)",
}

#: every group accepts the bootstrap settings of its intervals
BOOTSTRAP_PARAMS: dict[str, Param] = {
    "n_boot": Param(DEFAULT_BOOTSTRAP["n_boot"], "bootstrap resamples (0: no intervals)", check=non_negative_int),
    "alpha": Param(DEFAULT_BOOTSTRAP["alpha"], "1 - confidence level of the intervals", check=probability),
    "seed": Param(DEFAULT_BOOTSTRAP["seed"], "seed of the resamples", check=non_negative_int),
    "method": Param(DEFAULT_BOOTSTRAP["method"], "interval method", choices=("percentile",)),
}


class Params(dict):
    """A group's resolved parameters: a dict whose keys are also attributes (``params.n_bins``).

    Example:
        >>> Params({"n_bins": 15}).n_bins
        15

    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def bootstrap(self) -> dict[str, Any]:
        """The bootstrap settings (``n_boot``, ``alpha``, ``seed``, ``method``)."""
        return {k: self[k] for k in DEFAULT_BOOTSTRAP}


@dataclass(frozen=True)
class MetricSpec:
    """One metric (or a family of them) a group produces.

    ``pattern`` is the metric name with ``{field}`` placeholders for families (``top{k}``, ``{score}_auroc``,
    ``top1[{factor}={level}]``); ``label`` uses the same placeholders (``{score} AUROC``).

    Example:
        >>> spec = MetricSpec("{score}_auroc", "{score} AUROC", True, fields={"score": ("msp", "energy")},
        ...                   names={"msp": "MSP"})
        >>> spec.match("energy_auroc"), spec.match("top1")
        ({'score': 'energy'}, None)
        >>> spec.label_of("msp_auroc")
        'MSP AUROC'

    """

    pattern: str
    label: str
    higher_is_better: bool | None
    description: str = ""
    #: allowed values of each placeholder: a tuple of values or a regular expression (a field without an entry
    #: matches any text without ``[]=``)
    fields: Mapping[str, tuple[str, ...] | str] = field(default_factory=dict)
    #: display names of placeholder values (``msp`` -> ``MSP``)
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (placeholders become named groups)."""
        out, pos = "", 0
        for m in re.finditer(r"\{(\w+)\}", self.pattern):
            out += re.escape(self.pattern[pos : m.start()])
            name = m.group(1)
            choices = self.fields.get(name)
            if isinstance(choices, str):
                body = choices
            elif choices:
                body = "|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True))
            else:
                body = r"[^\[\]=]+?"
            out += f"(?P<{name}>{body})"
            pos = m.end()
        return re.compile(out + re.escape(self.pattern[pos:]))

    def match(self, name: str) -> dict[str, str] | None:
        """The placeholder values of ``name`` if this spec produces it, else None."""
        m = self.regex.fullmatch(name)
        return m.groupdict() if m else None

    def label_of(self, name: str) -> str:
        """The display label of ``name`` (placeholders filled with their display names)."""
        values = self.match(name) or {}
        return self.label.format(**{k: self.names.get(v, v) for k, v in values.items()})


@dataclass(frozen=True)
class Need:
    """Something a group reads beyond its condition's class scores: a condition and artefacts of it.

    Attributes:
        relation: None for the run's own condition, else a name of :data:`RELATIONS`.
        artefacts: image artefact kinds the group reads there (produced in one pass with its features).
        params: parameters of those artefacts, per kind.
        overrides: how the group picks the related condition (``{"benchmark": "imagenet"}``), as it will ask.

    """

    relation: str | None = None
    artefacts: frozenset[str] = frozenset()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    overrides: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.relation is not None and self.relation not in RELATIONS:
            raise ValueError(f"unknown relation {self.relation!r}; known: {', '.join(RELATIONS)}")


@dataclass
class GroupResult:
    """What a group returns: its values, the protocol entries to record and per-sample columns.

    ``columns`` are aligned with the outputs of the group's condition and saved with ``--save-samples``.
    """

    values: list[MetricValue] = field(default_factory=list)
    protocol: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(default_factory=dict)


class ConditionView(Protocol):
    """One condition as a group reads it: its outputs, its artefacts, what it measured on."""

    @property
    def outputs(self) -> Outputs:
        """Class scores and labels of the condition's samples."""

    @property
    def benchmark(self) -> Benchmark | None:
        """The benchmark (None outside a run)."""

    @property
    def label_space(self) -> LabelSpace:
        """The label space of the outputs."""

    def artefact(self, kind: str, **params: Any) -> Any:
        """The rows of an artefact for the condition's samples (the kind's view: e.g. ``LocalOutputs``)."""

    def head_rows(self, names: list[str], prompts: str | None = None) -> Any:
        """Text-head rows of class names under a prompt set (a name or file; default: the run's set)."""

    def texts(self, kind: str, keys: list[str], **params: Any) -> Any:
        """Rows of a text-keyed artefact (``keyed_by="text"``) for ``keys``, computing only what its cache lacks."""


class GroupInputs(ConditionView, Protocol):
    """What :meth:`MetricGroup.compute` reads (see the module docstring)."""

    @property
    def shift(self) -> Shift | None:
        """The shift of the condition (None when clean)."""

    @property
    def model(self) -> ModelFacts | None:
        """The model's facts (None outside a run)."""

    @property
    def seed(self) -> int:
        """The run seed."""

    def shift_params(self) -> list[dict[str, Any]] | None:
        """The shift's per-sample parameters, aligned with the benchmark's dataset (``outputs.indices``)."""

    def related(self, relation: str, **overrides: Any) -> ConditionView:
        """A related condition the group declared in ``needs`` (``overrides``: e.g. ``benchmark='imagenet'``)."""


@dataclass
class StandaloneInputs:
    """Inputs outside a run: a group computed on outputs alone (tests, notebooks).

    Related conditions are the outputs themselves where a group may fall back to them (``in_distribution``), and
    an error otherwise.

    Example:
        >>> StandaloneInputs(None).related("clean")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the 'clean' condition is not available outside a run; ...

    """

    outputs: Any
    benchmark: Any = None
    shift: Any = None
    model: Any = None
    seed: int = 0
    params: list[dict[str, Any]] | None = None
    artefacts: dict[str, Any] = field(default_factory=dict)
    relations: dict[str, Any] = field(default_factory=dict)

    @property
    def label_space(self) -> Any:
        return self.outputs.label_space

    def artefact(self, kind: str, **params: Any) -> Any:
        if kind not in self.artefacts:
            raise UsageError(f"artefact {kind!r} is not available outside a run; give it in StandaloneInputs")
        return self.artefacts[kind]

    def texts(self, kind: str, keys: list[str], **params: Any) -> Any:
        if kind not in self.artefacts:
            raise UsageError(f"artefact {kind!r} is not available outside a run; give it in StandaloneInputs")
        return self.artefacts[kind](list(keys))

    def shift_params(self) -> list[dict[str, Any]] | None:
        return self.params

    def related(self, relation: str, **overrides: Any) -> Any:
        if relation in self.relations:
            return self.relations[relation]
        if relation == "in_distribution" and not overrides:
            return self
        raise UsageError(f"the {relation!r} condition is not available outside a run; run the group through the engine")


@dataclass(frozen=True)
class MetricGroup:
    """A metric group's declaration (see the module docstring)."""

    name: str
    compute: Callable[[Any, Params], GroupResult]
    metrics: tuple[MetricSpec, ...]
    params: Mapping[str, Param] = field(default_factory=dict)
    needs: Callable[[Params], Sequence[Need]] | Sequence[Need] = ()
    check: Callable[[Any, Any], None] | None = None
    validate: Callable[[Params], None] | None = None
    description: str = ""

    def resolve(self, given: Mapping[str, Any]) -> Params:
        """The group's parameters with defaults, every given value checked (SpecError on a bad one)."""
        params = Params(resolve_params(self.name, {**self.params, **BOOTSTRAP_PARAMS}, given))
        if self.validate is not None:
            self.validate(params)
        return params

    def check_params(self, **given: Any) -> None:
        """Raise SpecError for bad parameters (the CLI calls this before any work)."""
        self.resolve(given)

    def applies(self, benchmark: Any, shift: Any) -> None:
        """Raise UsageError when the group does not apply to the benchmark and shift (before any work)."""
        if self.check is not None:
            self.check(benchmark, shift)

    def needs_for(self, params: Params) -> tuple[Need, ...]:
        """What the group reads beyond class scores, for these parameters."""
        needs = self.needs(params) if callable(self.needs) else self.needs
        return tuple(needs)

    def metric_names(self) -> list[str]:
        """The metric name patterns the group produces."""
        return [m.pattern for m in self.metrics]

    def evaluate(self, inputs: Any, params: Params) -> GroupResult:
        """Compute the group on ``inputs``; checks that every value is declared."""
        result = self.compute(inputs, params)
        for value in result.values:
            if not any(m.match(value.name) is not None for m in self.metrics):
                raise RuntimeError(f"metric group {self.name!r} produced undeclared metric {value.name!r}")
        return result

    def __call__(self, outputs: Any, inputs: Any = None, **given: Any) -> list[MetricValue]:
        """The values on ``outputs`` alone (``inputs``: a :class:`StandaloneInputs` to give more)."""
        if inputs is None:
            inputs = StandaloneInputs(outputs)
        return self.evaluate(inputs, self.resolve(given)).values


#: every metric group, by name
groups: Registry[MetricGroup] = Registry("metric group")


def metric_group(
    name: str,
    *,
    metrics: Sequence[MetricSpec],
    params: Mapping[str, Param] | None = None,
    needs: Callable[[Params], Sequence[Need]] | Sequence[Need] = (),
    check: Callable[[Any, Any], None] | None = None,
    validate: Callable[[Params], None] | None = None,
    description: str | None = None,
    register: bool = True,
) -> Callable[[Callable[[Any, Params], GroupResult]], MetricGroup]:
    """Declare (and register) a metric group: decorate its ``compute(inputs, params) -> GroupResult``."""

    def declare(compute: Callable[[Any, Params], GroupResult]) -> MetricGroup:
        doc = description or (compute.__doc__ or "").strip().splitlines()[0] if (description or compute.__doc__) else ""
        group = MetricGroup(name, compute, tuple(metrics), dict(params or {}), needs, check, validate, doc)
        if register:
            groups.register(name, group)
        return group

    return declare


def describe_metric(name: str) -> tuple[MetricGroup, MetricSpec] | None:
    """The group and declaration that produce the metric ``name`` (the first that matches), or None.

    Example:
        >>> group, spec = describe_metric("energy_fpr95")
        >>> group.name, spec.higher_is_better, spec.label_of("energy_fpr95")
        ('ood', False, 'energy FPR@95TPR')

    """
    for group_name in groups.names():
        group = groups.get(group_name)
        for spec in group.metrics:
            if spec.match(name) is not None:
                return group, spec
    return None


def metric_label(name: str) -> str:
    """The display label of a metric name, from the group declarations (the name itself when none declares it).

    Example:
        >>> metric_label("top1"), metric_label("ece_ts"), metric_label("unknown_thing")
        ('top-1', 'ECE (after TS)', 'unknown thing')

    """
    found = describe_metric(name)
    return found[1].label_of(name) if found else name.replace("_", " ")


def check_relation(relation: str) -> None:
    """Raise SpecError for an unknown relation name."""
    if relation not in RELATIONS:
        raise SpecError(f"unknown related condition {relation!r}; known: {', '.join(RELATIONS)}")
