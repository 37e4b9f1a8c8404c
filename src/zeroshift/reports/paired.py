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

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP
from zeroshift.results.schema import RunRecord, SampleOutputs

METHODS = ("mcnemar", "midp", "bootstrap")


@dataclass
class PairedTest:
    """The outcome of a paired comparison.

    Attributes:
        method: ``mcnemar`` (exact), ``midp`` or ``bootstrap``.
        n: samples both runs evaluated.
        accuracy_a: accuracy of A on them.
        accuracy_b: accuracy of B on them.
        difference: ``accuracy_a - accuracy_b``.
        ci_low: lower end of the paired-bootstrap interval of the difference.
        ci_high: upper end.
        only_a: samples only A classifies correctly.
        only_b: samples only B classifies correctly.
        p_value: two-sided p-value of equal accuracy.

    """

    method: str
    n: int
    accuracy_a: float
    accuracy_b: float
    difference: float
    ci_low: float
    ci_high: float
    only_a: int
    only_b: int
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _as_bool(x: Any) -> np.ndarray:
    return np.asarray(x).astype(bool)


def mcnemar_p(only_a: int, only_b: int, mid_p: bool = False) -> float:
    """Two-sided exact (or mid-p) McNemar p-value from the two discordant counts.

    Example:
        >>> round(mcnemar_p(1, 6), 4), round(mcnemar_p(1, 6, mid_p=True), 4)
        (0.125, 0.0703)

    """
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = stats.binom.cdf(k, n, 0.5)
    if mid_p:
        tail -= 0.5 * stats.binom.pmf(k, n, 0.5)
    return float(min(1.0, 2.0 * tail))


def _difference_ci(a: np.ndarray, b: np.ndarray, boot: dict[str, Any]) -> tuple[np.ndarray, float, float]:
    """Bootstrap replicates of the accuracy difference, and their percentile interval."""
    n = a.size
    d = a.astype(np.float64) - b.astype(np.float64)
    if n < 2 or boot["n_boot"] <= 0:
        return np.empty(0), float("nan"), float("nan")
    rng = np.random.default_rng(boot["seed"])
    # resample in blocks: (B, n) indices at once would not fit for ImageNet-sized runs
    reps = []
    for start in range(0, boot["n_boot"], 64):
        idx = rng.integers(0, n, size=(min(64, boot["n_boot"] - start), n))
        reps.append(d[idx].mean(axis=1))
    replicates = np.concatenate(reps)
    lo, hi = np.quantile(replicates, [boot["alpha"] / 2, 1 - boot["alpha"] / 2])
    return replicates, float(lo), float(hi)


def mcnemar(a_correct: Any, b_correct: Any, mid_p: bool = False, **boot: Any) -> PairedTest:
    """McNemar's exact (or mid-p) test of two paired outcome vectors (True = correct)."""
    a, b = _as_bool(a_correct), _as_bool(b_correct)
    if a.shape != b.shape:
        raise ValueError("the two outcome vectors must have the same length")
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    _, lo, hi = _difference_ci(a, b, settings)
    acc_a, acc_b = (float(v.mean()) if v.size else float("nan") for v in (a, b))
    return PairedTest(
        "midp" if mid_p else "mcnemar", a.size, acc_a, acc_b, acc_a - acc_b, lo, hi, only_a, only_b,
        mcnemar_p(only_a, only_b, mid_p),
    )  # fmt: skip


def paired_bootstrap(a_correct: Any, b_correct: Any, **boot: Any) -> PairedTest:
    """Paired bootstrap of the accuracy difference; p = (1 + #{|d* - d| >= |d|}) / (1 + B).

    Example:
        >>> t = paired_bootstrap([1] * 30 + [0] * 10, [0] * 30 + [1] * 10, n_boot=500)
        >>> t.difference, t.p_value < 0.01
        (0.5, True)

    """
    a, b = _as_bool(a_correct), _as_bool(b_correct)
    if a.shape != b.shape:
        raise ValueError("the two outcome vectors must have the same length")
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    replicates, lo, hi = _difference_ci(a, b, settings)
    diff = float(a.mean() - b.mean()) if a.size else float("nan")
    if replicates.size:
        extreme = int((np.abs(replicates - diff) >= abs(diff) - 1e-12).sum())
        p = (1 + extreme) / (1 + replicates.size)
    else:
        p = float("nan")
    return PairedTest(
        "bootstrap", a.size, float(a.mean()), float(b.mean()), diff, lo, hi,
        int((a & ~b).sum()), int((~a & b).sum()), float(min(1.0, p)),
    )  # fmt: skip


def paired_test(a_correct: Any, b_correct: Any, method: str = "mcnemar", **boot: Any) -> PairedTest:
    """Dispatch to :func:`mcnemar` (``mcnemar``, ``midp``) or :func:`paired_bootstrap` (``bootstrap``)."""
    if method == "bootstrap":
        return paired_bootstrap(a_correct, b_correct, **boot)
    if method in ("mcnemar", "midp"):
        return mcnemar(a_correct, b_correct, mid_p=method == "midp", **boot)
    raise UsageError(f"unknown test {method!r}; choose one of: {', '.join(METHODS)}")


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
