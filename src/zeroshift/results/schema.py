"""The RunRecord: one evaluation with full provenance, written once and never edited.

Example:
    >>> rec = RunRecord.new(model="zoo:x", benchmark="factorworld", shift=None, prompts="simple", label_space="native")
    >>> rec.schema_version == SCHEMA_VERSION and len(rec.run_id) == 32
    True
    >>> RunRecord.from_json(rec.to_json()).model
    'zoo:x'

"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from zeroshift.metrics.base import MetricValue, json_safe

#: bumped on any change of the record layout (2: the structured ``condition``; records of version 1 lack it)
SCHEMA_VERSION = 2


@dataclass
class SampleOutputs:
    """Per-sample outputs saved with ``--save-samples``.

    Attributes:
        sample_ids: stable ids (paths relative to the dataset root).
        labels: label index per sample (-1 where none).
        topk: the top-k predicted label indices per sample.
        topk_scores: their softmax probabilities.
        extra: further per-sample columns (e.g. OOD scores), each a list as long as ``sample_ids``.

    """

    sample_ids: list[str]
    labels: list[int]
    topk: list[list[int]]
    topk_scores: list[list[float]]
    extra: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class RunRecord:
    """One evaluation: specs, protocol, fingerprints, counts, provenance and metric values.

    ``condition`` holds the structured fields of what was measured, so that analyses never parse spec strings:
    ``benchmark`` (registry name) and ``benchmark_params``, ``name`` (readable), ``kind`` (``in_distribution``,
    ``natural_shift``, ``corruption``, ``typographic``, ``adversarial``, ``ood``, ``diagnostic``...), ``base`` (the
    clean benchmark whose images were shown), ``in_distribution`` (the canonical benchmark this condition is
    compared with, None for an in-distribution condition) and ``id_metric`` (the metric of that benchmark's run that
    is the in-distribution axis), ``training_set`` (the training data of the supervised population of effective
    robustness), ``shift``, ``shift_kind`` and ``shift_params``, ``corruption`` (``{name, severity}`` or None),
    ``label_space``, ``seed``, ``limit`` (``{n, seed}`` or None) and ``label`` (a readable name of the condition).
    Records written before schema version 2 have an empty ``condition``.
    """

    run_id: str
    schema_version: int
    created_at: str
    model: str
    benchmark: str
    shift: str | None
    prompts: str
    label_space: str
    seed: int = 0
    condition: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: list[MetricValue] = field(default_factory=list)
    samples: SampleOutputs | None = None

    @classmethod
    def new(cls, **fields: Any) -> RunRecord:
        """A record with a fresh id and timestamp."""
        return cls(
            run_id=uuid.uuid4().hex,
            schema_version=SCHEMA_VERSION,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            **fields,
        )

    def metric(self, name: str) -> MetricValue | None:
        """The metric called ``name``, or None."""
        return next((m for m in self.metrics if m.name == name), None)

    def to_dict(self, with_samples: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (samples left out unless asked for)."""
        out = asdict(self)
        out["metrics"] = [m.as_dict() for m in self.metrics]
        out["protocol"] = json_safe(out["protocol"])
        if not with_samples:
            out.pop("samples")
        return out

    def to_json(self, with_samples: bool = False) -> str:
        """The record as JSON."""
        return json.dumps(self.to_dict(with_samples), default=str, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Rebuild a record from :meth:`to_dict` output."""
        data = dict(data)
        data["metrics"] = [
            MetricValue(**{**m, "value": float("nan") if m["value"] is None else m["value"]})
            for m in data.get("metrics", [])
        ]
        samples = data.pop("samples", None)
        record = cls(**data)
        if samples:
            record.samples = SampleOutputs(**samples)
        return record

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """Rebuild a record from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))
