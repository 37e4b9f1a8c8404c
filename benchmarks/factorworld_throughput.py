"""FactorWorld throughput: sampling and rendering per image, and what the in-process render memo saves.

Prints times measured in this one run and their ratios (never asserted anywhere).

    uv run python benchmarks/factorworld_throughput.py [N]
"""

from __future__ import annotations

import sys
import time

from zeroshift.data import make_benchmark


def main(n: int = 1000) -> None:
    for name in ("factorworld", "factorworld_factors", "factorworld_backgrounds"):
        bench = make_benchmark(f"{name}(n={n}, seed=12345)", None)
        t0 = time.perf_counter()
        data = bench.dataset()
        t1 = time.perf_counter()
        for i in range(len(data)):
            data.load(i)
        t2 = time.perf_counter()
        for i in range(len(data)):
            data.load(i)  # memoised
        t3 = time.perf_counter()
        sample, render, memo = (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n
        print(
            f"{name:26s} sample {1e3 * sample:.2f} ms/img  render {1e3 * render:.2f} ms/img "
            f"({1 / render:.0f} img/s)  memo hit {1e3 * memo:.3f} ms/img  render/memo {render / memo:.0f}x"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
