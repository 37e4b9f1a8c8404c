"""Related conditions a metric group may declare: one function per relation, from the run's condition to a RunSpec.

* ``clean``: the same model, benchmark, label space and prompts without the shift (paired attack and typographic
  metrics; the confusable word a typographic attack writes);
* ``in_distribution``: the benchmark's in-distribution set, clean, in its default label space (calibration fits its
  temperature there; an OOD set is scored against it). The benchmark declares the pairing
  (``Benchmark.in_distribution``; an OOD set's ``id`` parameter); without one, the benchmark itself.
  ``benchmark=SPEC`` overrides it (``calibration.id``).

Example:
    >>> from zeroshift.engine.runner import Runner
    >>> cond = Runner().resolve(RunSpec.make("zoo:sup-cnn-tiny", "factorworld_sketch(n=4)"))
    >>> related_spec(cond, "in_distribution", {}).benchmark.canonical
    'factorworld'

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zeroshift.errors import SpecError
from zeroshift.metrics.group import RELATIONS
from zeroshift.specs import CallSpec, RunSpec


def _clean(cond: Any, overrides: Mapping[str, Any]) -> RunSpec:
    spec = cond.spec
    return RunSpec(spec.model, spec.benchmark, None, spec.prompts, cond.label_space.name, spec.seed)


def _in_distribution(cond: Any, overrides: Mapping[str, Any]) -> RunSpec:
    spec = cond.spec
    target = overrides.get("benchmark") or cond.benchmark.in_distribution or cond.benchmark.canonical
    # in its default label space (a run in another space of the same benchmark fits on the default one)
    return RunSpec(spec.model, CallSpec.parse(target), None, spec.prompts, None, spec.seed)


RESOLVERS: dict[str, Callable[[Any, Mapping[str, Any]], RunSpec]] = {
    "clean": _clean,
    "in_distribution": _in_distribution,
}
assert set(RESOLVERS) == set(RELATIONS), "every declared relation needs a resolver"


def related_spec(cond: Any, relation: str, overrides: Mapping[str, Any]) -> RunSpec:
    """The RunSpec of ``relation`` for condition ``cond``."""
    if relation not in RESOLVERS:
        raise SpecError(f"unknown related condition {relation!r}; known: {', '.join(RESOLVERS)}")
    unknown = set(overrides) - {"benchmark"}
    if unknown:
        raise SpecError(f"related condition {relation!r}: unknown override {sorted(unknown)[0]!r}")
    return RESOLVERS[relation](cond, overrides)
