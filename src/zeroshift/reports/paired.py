"""Paired comparison of two runs on the same samples: McNemar's test (exact or mid-p) or a paired bootstrap.

Two models evaluated on the same images disagree on some of them: ``only_a`` images that only model A gets
right, ``only_b`` those only B gets right. Under the null hypothesis of equal accuracy each disagreement is a
fair coin, so McNemar's exact test is a two-sided binomial test of ``only_a`` out of ``only_a + only_b``; the
mid-p variant subtracts half the probability of the observed count from each tail (less conservative, Fagerland
et al. 2013). The paired bootstrap resamples images (keeping each image's pair of outcomes) and reports the
interval of the accuracy difference and the p-value of the centred resamples (Efron & Tibshirani 1993, 16.4).

Both read the saved per-sample outputs of the two runs (``--save-samples``), joined on sample ids.

Example:
    >>> t = mcnemar([1, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 1])
    >>> t.only_a, t.only_b, round(t.p_value, 4)
    (6, 1, 0.125)

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP

# the pure tests live in the metrics layer (metric groups use them too); re-exported here
from zeroshift.metrics.paired_tests import (  # noqa: E402, F401
    METHODS,
    PairedTest,
    _as_bool,
    mcnemar,
    mcnemar_p,
    paired_bootstrap,
    paired_test,
)
from zeroshift.results.schema import RunRecord, SampleOutputs

# --- from stored runs -------------------------------------------------------------------------------------


def correct_of(samples: SampleOutputs) -> dict[str, tuple[int, bool]]:
    """Sample id -> (label, top-1 correct) of a run's saved samples (unlabelled samples left out)."""
    out = {}
    for sid, label, top in zip(samples.sample_ids, samples.labels, samples.topk, strict=True):
        if label >= 0:
            out[sid] = (label, bool(top) and top[0] == label)
    return out


def align(a: SampleOutputs, b: SampleOutputs) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, int]]:
    """Join two runs' samples on their ids: ``(ids, a_correct, b_correct, counts)``.

    Raises:
        UsageError: the runs share no sample, or label a shared sample differently (not the same protocol).

    """
    ca, cb = correct_of(a), correct_of(b)
    shared = [sid for sid in ca if sid in cb]
    if not shared:
        raise UsageError("the two runs share no sample; compare runs of the same benchmark")
    clash = [sid for sid in shared if ca[sid][0] != cb[sid][0]]
    if clash:
        raise UsageError(
            f"the two runs label {len(clash)} shared samples differently (e.g. {clash[0]}): "
            "compare runs with the same benchmark and label space"
        )
    counts = {"shared": len(shared), "only_in_a": len(ca) - len(shared), "only_in_b": len(cb) - len(shared)}
    return (
        shared,
        np.asarray([ca[s][1] for s in shared]),
        np.asarray([cb[s][1] for s in shared]),
        counts,
    )


@dataclass
class RunComparison:
    """Two stored runs compared on their shared samples."""

    a: RunRecord
    b: RunRecord
    test: PairedTest
    counts: dict[str, int]
    protocol: dict[str, Any]


def resolve_run(
    records: list[RunRecord], ref: str, benchmark: str | None = None, shift: str | None = None
) -> RunRecord:
    """A run id (or a unique prefix of at least 6 characters), or a model spec with ``benchmark``: its newest run.

    Raises:
        UsageError: nothing or more than one run matches.

    """
    by_id = [r for r in records if r.run_id == ref or (len(ref) >= 6 and r.run_id.startswith(ref))]
    if len(by_id) == 1:
        return by_id[0]
    if len(by_id) > 1:
        raise UsageError(f"run id prefix {ref!r} matches {len(by_id)} runs; give more characters")
    from zeroshift.conditions import condition_of
    from zeroshift.specs import CallSpec, ModelSpec

    try:
        model = ModelSpec.parse(ref).canonical
    except UsageError:
        raise UsageError(f"{ref!r} is neither a run id of the store nor a model spec") from None
    if benchmark is None:
        raise UsageError(f"{ref!r} is a model: say which benchmark to compare on with --benchmark")
    wanted = CallSpec.parse(benchmark)
    shift_canonical = CallSpec.parse(shift).canonical if shift else None
    found = [
        r
        for r in records
        if r.model == model
        and (r.benchmark == wanted.canonical or (not wanted.params and condition_of(r).get("benchmark") == wanted.name))
        and r.shift == shift_canonical
    ]
    if not found:
        raise UsageError(f"no run of {model} on {benchmark}" + (f" under {shift}" if shift else "") + " in the store")
    return max(found, key=lambda r: (r.created_at, r.run_id))


def compare_runs(
    store: Any,
    ref_a: str,
    ref_b: str,
    benchmark: str | None = None,
    shift: str | None = None,
    method: str = "mcnemar",
    **boot: Any,
) -> RunComparison:
    """Compare two stored runs (ids or model specs) on their shared samples."""
    if method not in METHODS:
        raise UsageError(f"unknown test {method!r}; choose one of: {', '.join(METHODS)}")
    records = store.records()
    a, b = (resolve_run(records, ref, benchmark, shift) for ref in (ref_a, ref_b))
    if a.run_id == b.run_id:
        raise UsageError("both references name the same run")
    samples = []
    for r in (a, b):
        s = store.samples(r.run_id)
        if s is None:
            raise UsageError(f"run {r.run_id[:12]} ({r.model} on {r.benchmark}) has no saved samples; rerun it with "
                             "--save-samples (features come from the cache)")  # fmt: skip
        samples.append(s)
    _, ca, cb, counts = align(*samples)
    settings = {k: boot.get(k, DEFAULT_BOOTSTRAP[k]) for k in ("n_boot", "alpha", "seed")}
    test = paired_test(ca, cb, method, **settings)
    protocol = {
        "outcome": "top-1 correct per sample, joined on sample ids",
        "test": method,
        "bootstrap": settings,
        "two_sided": True,
    }
    return RunComparison(a, b, test, counts, protocol)
