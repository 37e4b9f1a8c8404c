"""What one condition's evaluation knows while it runs: encode statistics and the context handed to shifts
and metric groups (other conditions of the same model through the same caches).

Example:
    >>> stats = EncodeStats(total=4, encoded=4, seconds=2.0)
    >>> stats.as_dict()["images_per_s"], stats.as_dict()["evaluated"]
    (2.0, 4)

"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.engine.outputs import LocalOutputs, Outputs
from zeroshift.models import ModelHandle
from zeroshift.prompts import PromptSet
from zeroshift.shifts import Shift
from zeroshift.specs import CallSpec, RunSpec

if TYPE_CHECKING:
    from zeroshift.engine.runner import Runner


@dataclass
class EncodeStats:
    """What happened while producing the features of one condition."""

    total: int = 0
    fingerprint: str = ""
    from_cache: int = 0
    encoded: int = 0
    seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    converted: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """For the record's ``counts``."""
        out = asdict(self)
        out["skipped"] = dict(self.skipped)
        out["converted"] = dict(self.converted)
        out["evaluated"] = self.total - sum(self.skipped.values())
        out["images_per_s"] = self.encoded / self.seconds if self.seconds > 0 else None
        return out


@dataclass
class EvalContext:
    """What a metric group or a shift's ``prepare`` may ask beyond the outputs of its own condition.

    ``outputs(...)`` returns the outputs of another condition of the same model (another benchmark, the clean
    version of a shifted benchmark, an OOD set), computed through the same caches; ``local_outputs(...)`` its
    patch embeddings (zero-shot ViTs). What they had to encode is recorded in the run's ``counts["related"]``.
    """

    runner: Runner
    spec: RunSpec
    handle: ModelHandle
    benchmark: Benchmark
    dataset: Dataset
    label_space: LabelSpace
    prompts: PromptSet
    shift: Shift | None
    sample_columns: dict[str, list[Any]] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    _shift_params: list[dict[str, Any]] | None = field(default=None, repr=False)
    _shift_params_ready: bool = field(default=False, repr=False)

    def shift_params(self) -> list[dict[str, Any]] | None:
        """The shift's per-sample parameters (``Shift.prepare``), aligned with ``dataset``; computed once.

        The encoder hands them to the shift; metric groups read them (e.g. the class a typographic attack wrote),
        also when every feature came from the cache.
        """
        if not self._shift_params_ready:
            self._shift_params = self.shift.prepare(self) if self.shift is not None else None
            if self._shift_params is not None and len(self._shift_params) != len(self.dataset):
                raise RuntimeError(
                    f"{self.shift.name}.prepare returned {len(self._shift_params)} rows for {len(self.dataset)} samples"
                )
            self._shift_params_ready = True
        return self._shift_params

    #: encode statistics of the other conditions metric groups asked for (recorded in ``counts["related"]``)
    related: list[dict[str, Any]] = field(default_factory=list)

    def _spec(self, benchmark: str | CallSpec | None, shift: str | CallSpec | None, label_space: str | None) -> RunSpec:
        bench_spec = CallSpec.parse(benchmark) if benchmark is not None else CallSpec.parse(self.benchmark.canonical)
        return RunSpec(
            self.spec.model,
            bench_spec,
            CallSpec.parse(shift) if shift else None,
            self.spec.prompts,
            label_space if benchmark is not None else (label_space or self.label_space.name),
            self.spec.seed,
        )

    def _note(self, ctx: EvalContext, artefact: str, stats: EncodeStats) -> None:
        self.related.append(
            {
                "benchmark": ctx.spec.benchmark.canonical,
                "shift": ctx.spec.shift.canonical if ctx.spec.shift else None,
                "label_space": ctx.label_space.name,
                "artefact": artefact,
                "fingerprint": stats.fingerprint,
                "total": stats.total,
                "from_cache": stats.from_cache,
                "encoded": stats.encoded,
                "skipped": dict(stats.skipped),
            }
        )

    def outputs(
        self,
        benchmark: str | CallSpec | None = None,
        shift: str | CallSpec | None = None,
        label_space: str | None = None,
        limit: int | None = None,
    ) -> Outputs:
        """Outputs of this model on another condition (default: this benchmark, clean)."""
        out, stats, other = self.runner.outputs_for(self._spec(benchmark, shift, label_space), limit=limit)
        self._note(other, "features", stats)
        return out

    def local_outputs(
        self,
        benchmark: str | CallSpec | None = None,
        shift: str | CallSpec | None = None,
        label_space: str | None = None,
        limit: int | None = None,
    ) -> LocalOutputs:
        """Patch embeddings of this model on a condition (default: this benchmark, clean), for GL-MCM."""
        out, stats, other = self.runner.local_outputs_for(self._spec(benchmark, shift, label_space), limit=limit)
        self._note(other, "local", stats)
        return out

    def save_column(self, name: str, values: list[Any]) -> None:
        """Attach a per-sample column (e.g. an OOD score) to the saved samples of this run."""
        self.sample_columns[name] = list(values)
