"""The ``overlap`` metric group: how many evaluation images are in the training corpus, and top-1 with and without.

Reads the ``overlap_flags`` artefact (produced in the same pass as the condition's features; see
:mod:`zeroshift.overlap.artefact`) and the condition's correctness, and records

* ``overlap_rate``: the share of flagged samples (with a bootstrap interval);
* ``overlap_top1_all`` / ``_clean`` / ``_overlap``: top-1 on every, the unflagged and the flagged samples;
* ``overlap_top1_clean_minus_all`` and ``overlap_top1_overlap_minus_clean``: the differences, with paired
  bootstrap intervals (:func:`zeroshift.overlap.contamination.contamination`);
* where the benchmark carries the ground truth (a boolean ``truth`` column, ``leaked`` in ``factorworld_leaked``):
  ``overlap_flag_recall`` (flagged among the true duplicates) and ``overlap_flag_precision`` (true among flagged).

The protocol records the index (its folder, model, corpus, type and parameters), ``k``, the flag rule (threshold,
pHash setting and the measurement the default comes from) and ``examples``: up to :data:`N_EXAMPLES` flagged
samples with their nearest training image (sample id, neighbour key, cosine, pHash distance), highest cosine first,
so a report can show the pairs without saved samples. Per-sample columns: ``overlap``, ``overlap_nn_cosine``,
``overlap_nn_key``, ``overlap_subset``.

Example:
    >>> groups.get("overlap").metric_names()[:2]
    ['overlap_rate', 'overlap_top1_{subset}']

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.metrics.base import mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, groups, metric_group
from zeroshift.overlap.artefact import PARAMS as FLAG_PARAMS
from zeroshift.params import Param

#: the artefact's parameters, taken by the group under the same names
ARTEFACT_PARAMS = tuple(FLAG_PARAMS)
#: flagged pairs recorded in the protocol (``examples``)
N_EXAMPLES = 6


def flag_params(params: Params | dict[str, Any]) -> dict[str, Any]:
    """The ``overlap_flags`` parameters within the group's.

    Example:
        >>> flag_params({"k": 3, "truth": "leaked", "corpus": "auto"})
        {'corpus': 'auto', 'k': 3}

    """
    return {k: params[k] for k in ARTEFACT_PARAMS if k in params}


def _needs(params: Params) -> tuple[Need, ...]:
    return (Need(None, frozenset({"overlap_flags"}), {"overlap_flags": flag_params(params)}),)


@metric_group(
    "overlap",
    metrics=(
        MetricSpec(
            "overlap_rate", "overlap rate", False, "share of samples whose nearest training image is a duplicate"
        ),
        MetricSpec(
            "overlap_top1_{subset}",
            "top-1 on {subset} samples",
            True,
            "top-1 on every sample, on those not flagged (clean) and on those flagged (overlap)",
            {"subset": ("all", "clean", "overlap")},
        ),
        MetricSpec(
            "overlap_top1_clean_minus_all",
            "top-1 clean - all",
            None,
            "top-1 without the flagged samples minus top-1 on all (paired bootstrap interval)",
        ),
        MetricSpec(
            "overlap_top1_overlap_minus_clean",
            "top-1 overlap - clean",
            None,
            "how much higher top-1 is on flagged than on clean samples (paired bootstrap interval)",
        ),
        MetricSpec(
            "overlap_flag_{what}",
            "flag {what}",
            True,
            "the flag against the benchmark's ground-truth column (recall: flagged among true duplicates)",
            {"what": ("recall", "precision")},
        ),
    ),  # fmt: skip
    params={**FLAG_PARAMS, "truth": Param("leaked", "boolean meta column with the true duplicates, if any")},
    needs=_needs,
    description="Train/test overlap: the share of evaluation images found in a training corpus, top-1 with and without",
)
def overlap_group(inputs: Any, params: Params) -> GroupResult:
    """Overlap rate and top-1 on all, clean and overlapping samples (see the module docstring)."""
    import torch

    from zeroshift.overlap.contamination import contamination

    if inputs.model is not None and not inputs.model.has_text_head:
        # a fixed-head classifier gives class logits, not an image embedding: nothing to search an index with
        return GroupResult(protocol={"overlap": {"skipped": "fixed-head classifier: no image embedding"}})
    outputs = inputs.outputs
    rows = inputs.artefact("overlap_flags", **flag_params(params))
    by_id = dict(zip(rows.sample_ids, rows.rows.numpy().tolist(), strict=True))
    table = np.asarray([by_id[s] for s in outputs.sample_ids], dtype=np.float64).reshape(-1, 4)
    flags = table[:, 1] > 0.5
    boot = params.bootstrap
    labelled = outputs.labels >= 0
    if labelled.all() and len(flags):
        correct = (outputs.logits.argmax(dim=1) == torch.as_tensor(outputs.labels)).numpy().astype(np.float64)
        values, protocol, columns = contamination(correct, flags, "overlap_top1", True, boot)
    else:
        values = [mean_with_ci(flags.astype(np.float64), "overlap_rate", False, boot, {"n": len(flags)})]
        protocol, columns = {"analysis": "overlap rate (unlabelled samples: no top-1)"}, {"subset": []}
    truth = outputs.meta.get(params.truth)
    if truth is not None and len(flags):
        true = np.asarray(truth, dtype=bool)
        n_true, n_flag = int(true.sum()), int(flags.sum())
        if n_true:
            values.append(mean_with_ci(flags[true].astype(np.float64), "overlap_flag_recall", True, boot,
                                       {"n": n_true, "truth": params.truth}))  # fmt: skip
        if n_flag:
            values.append(mean_with_ci(true[flags].astype(np.float64), "overlap_flag_precision", True, boot,
                                       {"n": n_flag, "truth": params.truth}))  # fmt: skip
    flag_protocol = dict(rows.protocol)
    keys = _index_keys(rows.protocol)
    protocol = {"overlap": {**protocol, "flags": flag_protocol, "params": dict(params),
                            "truth_column": params.truth if truth is not None else None,
                            "examples": examples(outputs.sample_ids, table, keys)}}  # fmt: skip
    columns = {
        "overlap": flags.tolist(),
        "overlap_nn_key": [keys[int(r)] if 0 <= r < len(keys) else "" for r in table[:, 3]],
        "overlap_nn_cosine": [None if c < -1.5 else round(float(c), 6) for c in table[:, 0]],
        "overlap_nn_row": [int(r) for r in table[:, 3]],
        "overlap_subset": columns.get("subset") or ["overlap" if f else "clean" for f in flags],
    }
    return GroupResult(values, protocol, columns)


def examples(sample_ids: list[str], table: np.ndarray, keys: list[str], n: int = N_EXAMPLES) -> list[dict[str, Any]]:
    """Up to ``n`` flagged samples and their nearest training image, highest cosine first (ties: sample order).

    ``table`` holds the ``overlap_flags`` rows ``(nn_cosine, flag, nn_hamming, nn_row)`` in ``sample_ids`` order.

    Example:
        >>> table = np.array([[0.5, 0, -1, 0], [0.99, 1, 3, 2], [1.0, 1, 0, 1]])
        >>> [(e["sample"], e["neighbour"], e["cosine"]) for e in examples(["a", "b", "c"], table, ["x", "y", "z"])]
        [('c', 'y', 1.0), ('b', 'z', 0.99)]

    """
    flagged = [i for i in np.argsort(-table[:, 0], kind="stable") if table[i, 1] > 0.5][:n]
    out = []
    for i in flagged:
        row = int(table[i, 3])
        hamming = int(table[i, 2])
        out.append({"sample": str(sample_ids[i]), "neighbour": keys[row] if 0 <= row < len(keys) else "",
                    "cosine": round(float(table[i, 0]), 4), "hamming": hamming if hamming >= 0 else None})  # fmt: skip
    return out


def _index_keys(protocol: dict[str, Any]) -> list[str]:
    from zeroshift.overlap.index import OverlapIndex

    folder = (protocol.get("index") or {}).get("folder")
    return OverlapIndex.open(folder).keys if folder else []


__all__ = ["N_EXAMPLES", "examples", "flag_params", "groups", "overlap_group"]
