"""What a sweep will cost before it starts (``--dry-run``): per task, the conditions, those already stored, the images
its model must still encode after cache hits, and the compute at the throughput measured for the model.

Images: for each condition to run and each related condition its metric groups declared (the in-distribution set of
calibration, the clean set of a paired metric...), the content keys that the banks of the artefacts produced in its
pass lack (image features plus the declared kinds: patch embeddings, the minimal-epsilon search), read from the
cache's chunk sidecars only; an image shared by two conditions of a task (two prompt sets, a related condition that
is also a condition) counts once. Throughput: the median ``images_per_s`` of the model's stored records of the same
shift, else of its clean records (or any non-attack ones) for a shift that is not an attack; an attack measured
never is "unknown", as is a model never measured.

Example:
    >>> rate_for({"corruption": [100.0, 300.0], None: [50.0]}, "corruption", attack=False)
    200.0
    >>> rate_for({None: [50.0]}, "pgd", attack=True) is None
    True

"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zeroshift.specs import CallSpec

if TYPE_CHECKING:
    from zeroshift.engine.runner import Runner
    from zeroshift.sweep.tasks import Task


@dataclass
class ConditionEstimate:
    """One condition of a task in a dry run."""

    label: str
    stored: bool
    images: int = 0
    rate: float | None = None

    @property
    def seconds(self) -> float | None:
        """Compute time at the measured rate (0 when nothing is encoded; None when unknown)."""
        if self.images == 0:
            return 0.0
        return self.images / self.rate if self.rate else None


@dataclass
class TaskEstimate:
    """One task in a dry run."""

    model: str
    conditions: list[ConditionEstimate] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Conditions already in the store."""
        return sum(c.stored for c in self.conditions)

    @property
    def to_run(self) -> int:
        """Conditions to run."""
        return len(self.conditions) - self.stored

    @property
    def images(self) -> int:
        """Images the model must encode."""
        return sum(c.images for c in self.conditions)

    @property
    def seconds(self) -> float | None:
        """Compute time (None when some condition's rate is unknown)."""
        parts = [c.seconds for c in self.conditions]
        return None if any(p is None for p in parts) else float(sum(p for p in parts if p is not None))

    @property
    def rate(self) -> float | None:
        """The model's median measured rate over its conditions to encode (for display)."""
        rates = [c.rate for c in self.conditions if c.images and c.rate]
        return statistics.median(rates) if rates else None


def rate_for(rates: Mapping[str | None, list[float]], shift: str | None, attack: bool) -> float | None:
    """The throughput to assume for a condition with ``shift`` (a shift name) from a model's measured rates."""
    if rates.get(shift):
        return float(statistics.median(rates[shift]))
    if attack:
        return None
    if rates.get(None):
        return float(statistics.median(rates[None]))
    others = [r for name, values in rates.items() if name is not None for r in values]
    return float(statistics.median(others)) if others else None


def measured_rates(runner: Runner, model: str) -> dict[str | None, list[float]]:
    """The model's measured ``images_per_s`` in the store, by shift name (None: clean)."""
    out: dict[str | None, list[float]] = {}
    if runner.store is None:
        return out
    for record in runner.store.records(model=model):
        rate = (record.counts or {}).get("images_per_s")
        if rate:
            name = CallSpec.parse(record.shift).name if record.shift else None
            out.setdefault(name, []).append(float(rate))
    return out


def _scopes(runner: Runner, item: Any) -> list[tuple[Any, dict[str, dict[str, Any]]]]:
    """The condition and each related condition it reads, with the image kinds produced in its pass."""
    from zeroshift.engine.inputs import ConditionInputs
    from zeroshift.engine.relations import related_spec

    cond = runner.resolve(item.spec)
    own: dict[str, dict[str, Any]] = {}
    related: list[tuple[str, Mapping[str, Any], dict[str, dict[str, Any]]]] = []
    for group, params in item.resolved(cond.benchmark, cond.shift, runner.options.bootstrap):
        for need in group.needs_for(params):
            kinds = {kind: dict(need.params.get(kind, {})) for kind in need.artefacts}
            if need.relation is None:
                own.update(kinds)
            else:
                related.append((need.relation, need.overrides, kinds))
    out = [(ConditionInputs(runner, cond), own)]
    for relation, overrides, kinds in related:
        other = runner.resolve(related_spec(cond, relation, overrides), limit=cond.limit)
        out.append((ConditionInputs(runner, other), kinds))
    return out


def _lacking(runner: Runner, scope: Any, kinds: dict[str, dict[str, Any]]) -> tuple[str, set[str]]:
    """The features bank of a scope and the content keys its pass must encode."""
    from zeroshift.engine.produce import Request
    from zeroshift.errors import UsageError

    requests = [Request.of("features")]
    for name, params in kinds.items():
        request = Request.of(name, params)
        if request.kind.keyed_by != "image":
            continue
        try:
            if request.kind.check is not None:
                request.kind.check(scope, request.kwargs)
        except UsageError:
            continue  # the model cannot give it; the group decides what to do (as the engine does)
        requests.append(request)
    keys = scope.dataset.content_keys()
    producer = runner.producer
    lacking: set[str] = set()
    for request in requests:
        lacking.update(producer.lacking(scope, request, keys))
    return producer.bank_fingerprint(scope, requests[0]), lacking


def estimate_task(runner: Runner, task: Task) -> TaskEstimate:
    """The dry-run view of one task."""
    rates = measured_rates(runner, task.model)
    out = TaskEstimate(task.model)
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(task.items):
        entry = ConditionEstimate(task.describe(index), index in task.stored)
        out.conditions.append(entry)
        if entry.stored:
            continue
        images = 0
        scopes = _scopes(runner, item)
        for scope, kinds in scopes:
            bank, lacking = _lacking(runner, scope, kinds)
            new = {(bank, k) for k in lacking} - seen
            seen |= new
            images += len(new)
        entry.images = images
        shift = scopes[0][0].shift
        entry.rate = rate_for(rates, shift.name if shift is not None else None, shift is not None and
                              shift.kind == "attack")  # fmt: skip
    return out


def estimate(runner: Runner, tasks: list[Task]) -> list[TaskEstimate]:
    """The dry-run view of every task."""
    return [estimate_task(runner, task) for task in tasks]


def format_seconds(seconds: float | None) -> str:
    """``None`` -> unknown; else a short duration.

    Example:
        >>> format_seconds(None), format_seconds(42.0), format_seconds(5400.0), format_seconds(200000.0)
        ('unknown', '42 s', '90 min', '2.3 d')

    """
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


__all__ = ["ConditionEstimate", "TaskEstimate", "estimate", "estimate_task", "format_seconds", "rate_for"]
