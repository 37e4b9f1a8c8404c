"""A condition: what a RunSpec means once resolved (model, benchmark and its samples, label space, prompts, shift).

Resolving checks names and layouts and lists samples; it loads no weights. The condition knows what its cached
artefacts are keyed by (:meth:`Condition.pixel_fingerprint`, :meth:`Condition.head_fingerprint`) and the structured
fields every record of it carries (:meth:`Condition.describe`).

Example:
    >>> from zeroshift.engine.options import RunOptions, effective_precision
    >>> from zeroshift.engine.facts import FactsCache
    >>> import tempfile
    >>> facts = FactsCache(tempfile.mkdtemp())
    >>> cond = resolve(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=8)"), RunOptions(), facts)
    >>> len(cond.dataset), cond.describe()["kind"], cond.precision
    (8, 'in_distribution', 'fp32')

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from zeroshift.conditions import describe
from zeroshift.data import make_benchmark
from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.engine.facts import FactsCache
from zeroshift.engine.options import RunOptions, effective_precision
from zeroshift.errors import UsageError
from zeroshift.models import ModelHandle, adapters, resolve_model
from zeroshift.models.facts import ModelFacts
from zeroshift.prompts import PromptSet, load_prompts
from zeroshift.shifts import Shift, make_shift
from zeroshift.specs import CallSpec, RunSpec, fingerprint


@dataclass
class Condition:
    """A resolved RunSpec (see the module docstring); the model's facts are read on first use."""

    spec: RunSpec
    handle: ModelHandle
    facts_of: Callable[[ModelHandle], ModelFacts]
    benchmark: Benchmark
    dataset: Dataset
    label_space: LabelSpace
    prompts: PromptSet
    shift: Shift | None
    limit: int | None
    precision: str

    @property
    def seed(self) -> int:
        """The run seed (subsets, shifts, attacks)."""
        return self.spec.seed

    @cached_property
    def facts(self) -> ModelFacts:
        """The model's facts (from the facts cache; the model loads only when they are not cached yet)."""
        facts = self.facts_of(self.handle)
        check_universe(self.handle, facts, self.benchmark, self.label_space)
        return facts

    @property
    def model_fingerprint(self) -> str:
        """The model's fingerprint."""
        return self.handle.fingerprint

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the condition within one process (memoised outputs)."""
        shift = self.shift.canonical if self.shift is not None else None
        return (self.handle.fingerprint, self.benchmark.canonical, shift, self.label_space.name, self.prompts.digest,
                self.seed, self.limit)  # fmt: skip

    def head_fingerprint(self) -> str | None:
        """The fingerprint of the text head's bank (None for fixed-head models)."""
        if not self.facts.has_text_head:
            return None
        return fingerprint({"model": self.handle.fingerprint, "prompts": self.prompts.digest, "what": "text head"})

    def pixel_fingerprint(self) -> dict[str, Any]:
        """What the pixels the model sees depend on: the model, the shift, its seed and what the shift follows.

        Attacks follow the gradient of the classifier over the label space, so they key on the head and the space.
        A shift that acts on text (``Shift.acts_on``) leaves the pixels clean: they key as the clean condition's.
        """
        shift = self.shift if self.shift is not None and self.shift.acts_on == "pixels" else None
        depends = shift.depends_on() if shift is not None else frozenset()
        attack_head = None
        if depends:
            attack_head = fingerprint(
                {
                    "head": self.head_fingerprint() if "head" in depends else None,
                    "space": self.label_space.fingerprint_data if "label_space" in depends else None,
                }
            )
        out = {
            "model": self.handle.fingerprint,
            "shift": shift.cache_key if shift else None,
            "seed": self.seed if shift else None,
            "attack_head": attack_head,
        }
        if shift is not None and shift.needs():
            out["reads"] = self.reads_fingerprint
        return out

    @cached_property
    def reads_fingerprint(self) -> dict[str, str]:
        """The bank fingerprints of what the shift reads of the clean images (``Shift.needs``: a 3D corruption's
        depth maps): the shifted pixels depend on them, so a depth map that changes (a folder's map file, a depth
        model's weights) changes the key of the features taken on the shifted pixels.
        """
        from zeroshift.artefacts import kinds

        needs = self.shift.needs() if self.shift is not None else {}
        return {name: kinds.get(name).bank_fingerprint(self, kinds.get(name).resolve(p)) for name, p in needs.items()}

    def describe(self) -> dict[str, Any]:
        """The structured fields of every record of this condition (``RunRecord.condition``)."""
        return describe(self.benchmark, self.shift, self.label_space.name, self.seed, self.limit)


def resolve(
    spec: RunSpec,
    options: RunOptions,
    facts: FactsCache,
    dataset_of: Callable[[Benchmark], Dataset] | None = None,
    limit: int | None = None,
    device_type: str = "cpu",
    handle_of: Callable[[Any], ModelHandle] = resolve_model,
) -> Condition:
    """Resolve a RunSpec into a Condition (checks names, layout and the model's label space; loads no weights).

    ``handle_of`` gives the model's handle (the runner's memoised one, so a loaded model serves every condition).
    """
    handle = handle_of(spec.model)
    benchmark = make_benchmark(spec.benchmark, options.data_root)
    space_name = benchmark.resolve_label_space(spec.label_space)
    space = benchmark.label_space(space_name)
    shift = make_shift(spec.shift) if spec.shift is not None else None
    check_gradients(handle, shift)
    prompts = load_prompts(spec.prompts)
    dataset = dataset_of(benchmark) if dataset_of is not None else benchmark.dataset()
    limit = limit if limit is not None else options.limit
    if limit is not None and limit < len(dataset):
        chosen = np.sort(np.random.default_rng(spec.seed).permutation(len(dataset))[:limit])
        dataset = dataset.subset(chosen.tolist())
    cached = facts.cached(handle)  # checked now when the facts cost nothing; else when the run reads them
    if cached is not None:
        check_universe(handle, cached, benchmark, space)
    resolved = RunSpec(
        spec.model,
        CallSpec.parse(benchmark.canonical),
        spec.shift and CallSpec.parse(shift.canonical),
        spec.prompts,
        space_name,
        spec.seed,
    )
    # the precision images are encoded in (recorded in fingerprints); an attack run is scored in the precision the
    # attack was optimised in, so robust accuracy is measured on the function that was attacked
    attacked = shift is not None and shift.kind == "attack"
    precision = options.attack_precision if attacked else effective_precision(options.precision, device_type)
    return Condition(resolved, handle, facts.of, benchmark, dataset, space, prompts, shift, limit, precision)


def check_universe(handle: ModelHandle, facts: ModelFacts, benchmark: Benchmark, space: LabelSpace) -> None:
    """Refuse a fixed-head classifier on a label space of another class universe (a space without classes, as
    unlabelled benchmarks such as correspondence pairs have, maps nothing and serves every model; a model without a
    universe, an LMM, scores any label space's class names).
    """
    if (
        not facts.has_text_head
        and facts.universe is not None
        and space.class_names
        and space.universe != facts.universe
    ):
        default = benchmark.label_spaces[0]
        raise UsageError(
            f"{handle.spec} is a fixed-head classifier over {facts.universe}; label space {space.name!r} of "
            f"{benchmark.name} needs {space.universe}"
            + (f" (try --label-space {default})" if space.name != default else "")
        )


def check_gradients(handle: ModelHandle, shift: Shift | None) -> None:
    """Refuse an attack shift on a model whose adapter says it gives no input gradients (without loading it).

    Example:
        >>> from zeroshift.models import resolve_model
        >>> from zeroshift.shifts import make_shift
        >>> check_gradients(resolve_model("random:timm/test_resnet?seed=0"), make_shift("fgsm(eps=0.01)"))

    """
    if shift is None or shift.kind != "attack":
        return
    if not adapters.get(handle.spec.scheme).differentiable(handle.spec):
        raise UsageError(
            f"{handle.spec} gives no gradients for its input pixels, so the attack {shift.canonical} cannot run on "
            "it; evaluate it under corruptions or typographic shifts instead"
        )
