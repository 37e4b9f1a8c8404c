"""zeroshift: how far to trust a CLIP-style model, measured on every axis from one feature cache.

The public API is small; ``import zeroshift`` imports no model backend.

Example:
    >>> import zeroshift
    >>> "imagenet_r" in zeroshift.list_benchmarks()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zeroshift.results.schema import RunRecord

__version__ = "0.1.0"


def evaluate(
    model: str,
    benchmark: str,
    shift: str | None = None,
    prompts: str = "openai",
    label_space: str | None = None,
    seed: int = 0,
    **options: Any,
) -> RunRecord:
    """Evaluate one model on one benchmark (optionally under a shift) and return its RunRecord.

    ``options`` are :class:`zeroshift.engine.runner.RunOptions` fields (``data_root``, ``store``, ``device``,
    ``batch_size``, ``limit``...). Without ``store`` the record is returned but not stored.

    Example:
        >>> rec = evaluate("zoo:clip-vit-diverse", "factorworld", limit=64)  # doctest: +SKIP
        >>> rec.metric("top1").value  # doctest: +SKIP
        0.93
    """
    from zeroshift.engine.runner import Runner, RunOptions
    from zeroshift.specs import RunSpec

    return Runner(RunOptions(**options)).run(RunSpec.make(model, benchmark, shift, prompts, label_space, seed))


def list_benchmarks() -> list[str]:
    """Names of the registered benchmarks."""
    from zeroshift.data import benchmarks

    return benchmarks.names()


def list_shifts() -> list[str]:
    """Names of the registered shifts."""
    from zeroshift.shifts import shifts

    return shifts.names()


def list_metrics() -> list[str]:
    """Names of the registered metric groups."""
    from zeroshift.metrics import metrics

    return metrics.names()


def list_models() -> list[str]:
    """Model spec schemes and the shipped zoo models (``zoo:NAME``)."""
    from zeroshift.models import adapters

    zoo = adapters.get("zoo")
    return [f"{s}:" for s in adapters.names()] + [f"zoo:{n}" for n in getattr(zoo, "names", lambda: [])()]


def load_results(store: str | None = None, **filters: Any) -> list[RunRecord]:
    """Records of a results store (default ``zeroshift-results.db``), filtered by model/benchmark/shift."""
    from zeroshift.paths import default_store
    from zeroshift.results.store import Store

    return Store(store or default_store()).records(**filters)


__all__ = ["evaluate", "list_benchmarks", "list_metrics", "list_models", "list_shifts", "load_results"]
