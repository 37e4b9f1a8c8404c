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
    metrics: tuple[str, ...] | None = None,
    metric_params: dict[str, dict[str, Any]] | None = None,
    **options: Any,
) -> RunRecord:
    """Evaluate one model on one benchmark (optionally under a shift) and return its RunRecord.

    ``metrics`` are metric groups instead of the benchmark's defaults and ``metric_params`` their parameters
    (``{"calibration": {"n_bins": 10}}``); ``options`` are :class:`zeroshift.engine.options.RunOptions` fields
    (``data_root``, ``store``, ``device``, ``batch_size``, ``limit``...). Without ``store`` the record is returned but
    not stored. The item is checked before any work, as the command line does.

    Example:
        >>> rec = evaluate("zoo:clip-vit-diverse", "factorworld", limit=64)  # doctest: +SKIP
        >>> rec.metric("top1").value  # doctest: +SKIP
        0.93
    """
    from zeroshift.engine.plan import PlanItem
    from zeroshift.engine.runner import Runner, RunOptions
    from zeroshift.specs import RunSpec

    runner = Runner(RunOptions(**options))
    item = PlanItem(RunSpec.make(model, benchmark, shift, prompts, label_space, seed), metrics, metric_params or {})
    runner.check(item)
    return runner.run(item)


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
    from zeroshift.metrics import groups

    return groups.names()


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
