"""Small conditions: a loader pool against in-process loading, measured in one run.

The demo and the suites run many conditions of a few images (19 corruptions x 3 severities on 100 images, attacks on
64, retrieval on 100): there a loader pool's start-up outweighs its parallelism, so the engine loads conditions of at
most ``IN_PROCESS_IMAGES`` images in the encoding process. This script times the same corruption conditions both ways
(the pool forced by setting the threshold to 0) and prints the ratio.

Usage: uv run python benchmarks/small_conditions.py [--n 100] [--workers 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from zeroshift.engine import produce
from zeroshift.engine.plan import PlanItem
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec

CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "defocus_blur",
    "snow",
    "fog",
    "contrast",
    "pixelate",
    "jpeg_compression",
)


def per_condition(threshold: int, n: int, workers: int) -> float:
    """Wall seconds per corruption condition (the clean run first, so the model and head are warm)."""
    produce.IN_PROCESS_IMAGES = threshold
    runner = Runner(RunOptions(cache_dir=tempfile.mkdtemp(), workers=workers, device="cpu"))
    runner.run(PlanItem(RunSpec.make("zoo:clip-cnn-diverse", f"factorworld(n={n})", None), None))
    start = time.perf_counter()
    for name in CORRUPTIONS:
        shift = f"corruption(name='{name}', severity=3)"
        runner.run(PlanItem(RunSpec.make("zoo:clip-cnn-diverse", f"factorworld(n={n})", shift), None))
    return (time.perf_counter() - start) / len(CORRUPTIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    default = produce.IN_PROCESS_IMAGES
    pool = per_condition(0, args.n, args.workers)
    inline = per_condition(default, args.n, args.workers)
    print(f"{len(CORRUPTIONS)} corruption conditions of {args.n} FactorWorld images, zoo:clip-cnn-diverse, CPU")
    print(f"loader pool ({args.workers} worker(s)): {pool:.2f} s per condition")
    print(f"in-process (<= {default} images):       {inline:.2f} s per condition")
    print(f"ratio pool / in-process: {pool / inline:.1f}x")


if __name__ == "__main__":
    main()
