"""Bootstrap interval of a mean (1000 resamples), three ways, timed in this one run:

* ``per-replicate``: one ``rng.integers`` call and one statistic call per replicate (zeroshift before the
  resamples were drawn in blocks; kept here as the baseline);
* ``generic``: ``bootstrap_ci`` with a per-replicate statistic over resamples drawn in blocks;
* ``blocked``: ``mean_with_ci``, the same resamples averaged a block at a time (its interval equals
  ``generic``'s; see tests/unit/test_accuracy.py).

    uv run python benchmarks/bootstrap_speed.py
"""

from __future__ import annotations

import time

import numpy as np

from zeroshift.metrics.base import bootstrap_ci, mean_with_ci


def per_replicate(x: np.ndarray, n_boot: int, alpha: float, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = np.fromiter((x[rng.integers(0, x.size, size=x.size)].mean() for _ in range(n_boot)), float, n_boot)
    return float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    boot = {"n_boot": 1000, "alpha": 0.05, "seed": 0}
    for n in (100, 1000, 10_000, 50_000):
        x = (np.random.default_rng(n).random(n) < 0.7).astype(np.float64)
        before = timed(lambda x=x: per_replicate(x, **boot))
        generic = timed(lambda x=x, n=n: bootstrap_ci(lambda idx: float(x[idx].mean()), n, **boot))
        blocked = timed(lambda x=x: mean_with_ci(x, "top1", True, boot))
        print(
            f"n={n:6d}  per-replicate {before * 1e3:7.1f} ms  generic {generic * 1e3:7.1f} ms  "
            f"blocked {blocked * 1e3:7.1f} ms  per-replicate/blocked {before / blocked:4.1f}x"
        )


if __name__ == "__main__":
    main()
