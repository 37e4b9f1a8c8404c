"""Record assembly: one condition's outputs, its groups' results and everything needed to reproduce them.

Example:
    >>> from zeroshift.core.outputs import Outputs
    >>> from zeroshift.data.base import LabelSpace
    >>> import numpy as np, torch
    >>> space = LabelSpace.from_columns("full", ["a", "b"], "u", ["a", "b"], [0, 1])
    >>> out = Outputs(["x"], np.array([1]), torch.tensor([[0.0, 2.0]]), None, space)
    >>> sample_outputs(out, k=1).topk
    [[1]]

"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import torch

from zeroshift.core.outputs import Outputs
from zeroshift.engine.inputs import ConditionInputs
from zeroshift.engine.loader import default_workers
from zeroshift.engine.options import RunOptions
from zeroshift.engine.provenance import provenance
from zeroshift.metrics.group import GroupResult, MetricGroup, Params
from zeroshift.models.base import ModelInfo
from zeroshift.models.metadata import apply_user_metadata
from zeroshift.results.schema import RunRecord, SampleOutputs


def dataset_fingerprint(inputs: ConditionInputs) -> str:
    """What identifies the evaluated samples' content (paths, sizes, mtimes or generator keys)."""
    return hashlib.sha256("\n".join(inputs.dataset.content_keys()).encode()).hexdigest()[:24]


def assemble(
    inputs: ConditionInputs,
    computed: Sequence[tuple[MetricGroup, Params, GroupResult]],
    user_params: dict[str, Any],
    boot: dict[str, Any],
    options: RunOptions,
    device: torch.device,
    cache_root: str,
    started: float,
) -> RunRecord:
    """The RunRecord of a condition (see the module docstring)."""
    cond = inputs.condition
    outputs, stats, facts = inputs.outputs, inputs.stats, cond.facts
    protocol: dict[str, Any] = {
        "label_space": cond.label_space.fingerprint_data,
        "prompts": cond.prompts.record if facts.has_text_head else None,
        "logits": {"formula": facts.formula, "logit_scale": outputs.logit_scale, "logit_bias": outputs.logit_bias},
        "bootstrap": boot,
        "limit": {"n": cond.limit, "seed": cond.seed} if cond.limit else None,
        "metric_groups": [group.name for group, _, _ in computed],
        "metric_params": user_params,
        "preprocess": facts.preprocess,
        **({"benchmark": cond.benchmark.record} if cond.benchmark.record else {}),
        "shift": cond.shift.protocol if cond.shift is not None else None,
        "precision": {
            "encode": cond.precision,
            "scored_as_attacked": cond.shift is not None and cond.shift.kind == "attack",
            "rule": "attack runs are optimised and scored in --attack-precision (fp32 by default); other runs are "
            "encoded in --precision (auto: bf16 autocast on GPU, fp32 on CPU)",
        },
    }
    columns: dict[str, list[Any]] = {}
    for _, _, result in computed:
        protocol.update(result.protocol)
        columns.update(result.columns)
    info = apply_user_metadata(ModelInfo(**facts.info), options.model_meta)
    record = RunRecord.new(
        model=str(cond.handle.spec),
        benchmark=cond.spec.benchmark.canonical,
        shift=cond.spec.shift.canonical if cond.spec.shift else None,
        prompts=cond.prompts.name if facts.has_text_head else "n/a (fixed head)",
        label_space=cond.label_space.name,
        seed=cond.seed,
        model_info={**info.as_dict(), "kind": facts.kind, "backend": facts.backend},
        condition=cond.describe(),
        protocol=protocol,
        fingerprints={
            "model": cond.handle.fingerprint,
            "dataset": dataset_fingerprint(inputs),
            "features": stats.fingerprint,
            "head": cond.head_fingerprint() or "",
        },
        config={
            "data_root": str(options.data_root) if options.data_root else None,
            "device": str(device),
            "precision": options.precision,
            "batch_size": options.batch_size,
            "workers": default_workers() if options.workers is None else options.workers,
            "limit": cond.limit,
            "on_bad_image": options.on_bad_image,
            "cache_dir": cache_root,
        },
        counts={
            **stats.as_dict(),
            "related": inputs.related_counts,
            "encoded_total": stats.encoded + sum(r["encoded"] for r in inputs.related_counts),
        },
        provenance={**provenance(device), "wall_time_s": round(time.perf_counter() - started, 3)},
        metrics=[value for _, _, result in computed for value in result.values],
    )
    if options.save_samples:
        record.samples = sample_outputs(outputs, columns)
    return record


def sample_outputs(outputs: Outputs, columns: dict[str, list[Any]] | None = None, k: int = 5) -> SampleOutputs:
    """Per-sample top-k labels and probabilities, with any extra columns."""
    k = min(k, outputs.logits.shape[1]) if outputs.logits.ndim == 2 and outputs.logits.shape[1] else 0
    if len(outputs) and k:
        probs = torch.softmax(outputs.logits.float(), dim=1)
        # ties as everywhere (metrics.accuracy.TIE_RULE): a stable descending sort, the lowest class index first
        top = torch.sort(probs, dim=1, descending=True, stable=True)
        idx = top.indices[:, :k].tolist()
        p = [[round(float(v), 6) for v in row] for row in top.values[:, :k].tolist()]
    else:
        idx, p = [[] for _ in outputs.sample_ids], [[] for _ in outputs.sample_ids]
    return SampleOutputs(list(outputs.sample_ids), [int(x) for x in outputs.labels], idx, p, dict(columns or {}))
