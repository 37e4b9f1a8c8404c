"""Cached image features of a model on any benchmark's samples, for code that is not a metric group.

:func:`cached_features` reads the ``features`` artefact of (model, benchmark, no shift) through the engine's cache:
rows already in the cache are read, the rest are encoded once (the same loader, fingerprints and banks as every
run), so a later run of that benchmark, or another caller, encodes nothing again. The run's ``limit`` does not
apply: a caller gets every sample (an overlap index wants the whole corpus) unless it passes its own ``limit`` (the
same seeded subset a run with that limit evaluates).

Example:
    >>> import tempfile
    >>> from zeroshift.engine.runner import Runner, RunOptions
    >>> runner = Runner(RunOptions(cache_dir=tempfile.mkdtemp(), progress=False))
    >>> rows = cached_features(runner, "zoo:clip-cnn-diverse", "factorworld(n=3)")
    >>> len(rows), tuple(rows.rows.shape), round(float(rows.rows[0].norm()), 4)
    (3, (3, 64), 1.0)

"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from zeroshift.core.outputs import ArtefactRows
from zeroshift.engine.condition import resolve
from zeroshift.engine.produce import Request
from zeroshift.specs import RunSpec

if TYPE_CHECKING:
    from zeroshift.engine.runner import Runner


def cached_features(runner: Runner, model: str, benchmark: str, limit: int | None = None) -> ArtefactRows:
    """L2-normalised float32 image features of every sample of ``benchmark`` that decodes, through the cache.

    The rows' ``protocol`` names the bank they come from (``bank``: its folder) and the encode counts
    (``counts``: ``from_cache``, ``encoded``, ``skipped``).
    """
    from zeroshift.engine.inputs import ConditionInputs

    options = replace(runner.options, limit=limit)
    cond = resolve(RunSpec.make(model, benchmark), options, runner.facts, runner.dataset_of, None,
                   runner.device.type, runner.handle)  # fmt: skip
    request = Request.of("features")
    scope = ConditionInputs(runner, cond)
    found, stats = runner.producer.images(scope, [request])
    rows = found[request]
    bank = runner.producer.bank(scope, request)
    values = rows.rows.float() if len(rows) else torch.empty(0, 0)
    if len(rows):
        values = torch.nn.functional.normalize(values, dim=-1)
    counts = {"from_cache": stats.from_cache, "encoded": stats.encoded, "skipped": dict(stats.skipped)}
    return ArtefactRows("features", rows.sample_ids, values, rows.fingerprint, {"bank": str(bank.folder),
                        "counts": counts})  # fmt: skip
