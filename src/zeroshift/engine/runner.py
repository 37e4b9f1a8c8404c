"""PlanItem -> RunRecord: the flow of one evaluation (DESIGN, "One run, as data").

1. resolve the condition (benchmark with its defaults, samples, label space, prompt set, shift, model facts);
2. resolve the metric groups and their parameters (the plan item's, else the defaults);
3. the condition's outputs: image features and every artefact the groups declared, produced in one pass for the
   samples the cache lacks (:mod:`.produce`), class scores through the text head (:mod:`.inputs`);
4. each group's pure ``compute`` on the condition's inputs (related conditions through the same caches);
5. one RunRecord (:mod:`.record`), written in one transaction.

The model is loaded only if something must be computed: a run whose artefacts are all cached reads the model's
facts from a small JSON beside the banks and imports no model backend.

Example:
    >>> runner = Runner(RunOptions(limit=10))
    >>> runner.options.limit, runner.store is None
    (10, True)

"""

from __future__ import annotations

import time
from typing import Any

from zeroshift.core.outputs import Outputs
from zeroshift.core.vectors import Cache
from zeroshift.data.base import Benchmark, Dataset
from zeroshift.engine.condition import Condition, resolve
from zeroshift.engine.facts import FactsCache
from zeroshift.engine.inputs import ConditionInputs
from zeroshift.engine.options import RunOptions, resolve_device
from zeroshift.engine.plan import PlanItem, check_item
from zeroshift.engine.produce import Producer
from zeroshift.engine.record import assemble, dataset_fingerprint
from zeroshift.errors import UsageError
from zeroshift.metrics import DEFAULT_BOOTSTRAP
from zeroshift.models import ModelHandle, resolve_model
from zeroshift.models.facts import ModelFacts
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store
from zeroshift.specs import RunSpec


class Runner:
    """Executes plan items with shared caches, loaded models and one results store.

    Example:
        >>> runner = Runner(RunOptions())
        >>> runner.device.type in ("cpu", "cuda")
        True

    """

    def __init__(self, options: RunOptions | None = None) -> None:
        self.options = options or RunOptions()
        self.device = resolve_device(self.options.device)
        self.cache = Cache(self.options.cache_dir)
        self.facts = FactsCache(self.cache.root)
        self.producer = Producer(self.cache, self.options, self.device)
        self._store: Store | None = None
        self._datasets: dict[tuple[str, str], Dataset] = {}
        self._handles: dict[str, ModelHandle] = {}

    @property
    def store(self) -> Store | None:
        """The results store, opened on first use (a command refused by its checks leaves no empty store behind)."""
        if self._store is None and self.options.store:
            self._store = Store(self.options.store)
        return self._store

    @property
    def boot(self) -> dict[str, Any]:
        """The bootstrap settings of the run's intervals."""
        return {**DEFAULT_BOOTSTRAP, "n_boot": self.options.bootstrap}

    # --- conditions -------------------------------------------------------------------------------------
    def handle(self, model: str | Any) -> ModelHandle:
        """The (memoised) handle of a model spec."""
        key = str(model)
        if key not in self._handles:
            self._handles[key] = resolve_model(model)
        return self._handles[key]

    def model_facts(self, model: str | Any) -> ModelFacts:
        """A model's facts (cached by fingerprint; the model loads only the first time)."""
        return self.facts.of(self.handle(model))

    def dataset_of(self, benchmark: Benchmark) -> Dataset:
        """The samples of a benchmark, listed once per runner (a suite of 95 corruptions lists ImageNet once)."""
        key = (benchmark.canonical, str(benchmark.data_root))
        if key not in self._datasets:
            self._datasets[key] = benchmark.dataset()
        return self._datasets[key]

    def resolve(self, spec: RunSpec, limit: int | None = None) -> Condition:
        """Resolve a RunSpec (checks names and layout, lists the samples; loads weights only for uncached facts)."""
        return resolve(spec, self.options, self.facts, self.dataset_of, limit, self.device.type, self.handle)

    def inputs(self, spec: RunSpec | Condition, **declared: Any) -> ConditionInputs:
        """The inputs of a condition (``prefetch``, ``relations``: what its groups declared)."""
        cond = spec if isinstance(spec, Condition) else self.resolve(spec)
        return ConditionInputs(self, cond, **declared)

    def outputs(self, spec: RunSpec) -> Outputs:
        """Class scores of one condition, through the caches."""
        return self.inputs(spec).outputs

    # --- runs -------------------------------------------------------------------------------------------
    def check(self, item: PlanItem | RunSpec) -> None:
        """Validate an item without computing anything (raises UsageError); the CLI checks every item first."""
        check_item(as_item(item), self.resolve, self.options.bootstrap)

    def run(self, item: PlanItem | RunSpec) -> RunRecord:
        """Evaluate one plan item and write its record to the store (if any)."""
        started = time.perf_counter()
        item = as_item(item)
        cond = self.resolve(item.spec)
        chosen = item.resolved(cond.benchmark, cond.shift, self.options.bootstrap)
        for group, _ in chosen:
            group.applies(cond.benchmark, cond.shift)
        user_params = {name: dict(p) for name, p in item.params.items()}
        if self.options.skip_existing and (existing := self.existing(cond, chosen, user_params)) is not None:
            return existing
        prefetch: dict[str, Any] = {}
        relations: dict[str, dict[str, Any]] = {}
        for group, params in chosen:
            for need in group.needs_for(params):
                target = prefetch if need.relation is None else relations.setdefault(need.relation, {})
                target.update({kind: dict(need.params.get(kind, {})) for kind in need.artefacts})
        inputs = ConditionInputs(self, cond, prefetch, relations)
        stats = inputs.stats
        if stats.total - sum(stats.skipped.values()) == 0:
            raise UsageError(
                f"{cond.benchmark.name}: no image could be read ({dict(stats.skipped)}); nothing to evaluate"
            )
        computed = [(group, params, group.evaluate(inputs, params)) for group, params in chosen]
        cache_root = str(self.cache.root)
        record = assemble(inputs, computed, user_params, self.boot, self.options, self.device, cache_root, started)
        if self.store is not None:
            self.store.write(record)
        return record

    def existing(self, cond: Condition, chosen: list[Any], user_params: dict[str, Any]) -> RunRecord | None:
        """A stored record of exactly this condition (same model weights, data content and protocol), if any."""
        if self.store is None:
            return None
        dataset_fp = dataset_fingerprint(ConditionInputs(self, cond))
        shift = cond.spec.shift.canonical if cond.spec.shift else None
        names = [group.name for group, _ in chosen]
        found = self.store.records(model=str(cond.handle.spec), benchmark=cond.spec.benchmark.canonical, shift=shift)
        for record in reversed(found):
            same = (
                record.shift == shift  # the store's filter reads shift=None as "any shift", not as "clean"
                and record.label_space == cond.label_space.name
                and record.seed == cond.seed
                and record.fingerprints.get("model") == cond.handle.fingerprint
                and record.fingerprints.get("dataset") == dataset_fp
                and record.config.get("limit") == cond.limit
                and record.protocol.get("metric_groups") == names
                and record.protocol.get("metric_params") == user_params
                and (record.protocol.get("prompts") or {}).get("digest") in (None, cond.prompts.digest)
            )
            if same:
                return record
        return None


def as_item(item: PlanItem | RunSpec) -> PlanItem:
    """A plan item (a bare RunSpec computes the benchmark's and the shift's default metric groups)."""
    return item if isinstance(item, PlanItem) else PlanItem(item)


__all__ = ["PlanItem", "RunOptions", "Runner", "as_item"]
