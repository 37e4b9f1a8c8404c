"""LMM candidate scoring (likelihood protocol, 16 FactorWorld class names), three ways, timed in this one run:

* ``prefix cache``: the image+question prefix encoded once per image, all candidates scored in one batch over
  its key-value cache (zeroshift's default);
* ``from scratch, batched``: every candidate's whole sequence (vision tower, image tokens, question, answer)
  run again, the 16 candidates of an image in one batch;
* ``from scratch, one by one``: the same, one candidate per forward (the baseline of the naive loop).

Scores of the three agree (the max difference is printed); images per second and the ratios against the
cached path are printed.

    uv run python benchmarks/lmm_scoring.py [--model lmm:zoo/llava-fw-lm-base] [--images 64] [--threads 1]

Measured 2026-12-04 on the shared 2-core machine (load ~17), a llava-fw-lm-base folder trained by
``zeroshift zoo train-hf`` (16 images x 16 candidates, 1 thread): prefix cache 98.8 images/s, from scratch batched
22.6 (4.4x the cached time), one by one 2.8 (34.7x); max score difference 2.4e-06.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from zeroshift.data import make_benchmark
from zeroshift.models import resolve_model


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="lmm:zoo/llava-fw-lm-base")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = resolve_model(args.model).load()
    bench = make_benchmark(f"factorworld(n={args.images})", None)
    ds = bench.dataset()
    images: list[Image.Image] = [ds.load(i)[0] for i in range(len(ds))]
    classes = list(bench.label_space().class_names)
    runs = {
        "prefix cache": lambda: model.likelihood(images, classes, rows_per_batch=len(classes)),
        "from scratch, batched": lambda: model.likelihood(
            images, classes, use_cache=False, rows_per_batch=len(classes)
        ),
        "from scratch, one by one": lambda: model.likelihood(images, classes, use_cache=False, rows_per_batch=1),
    }
    results = {name: timed(fn, args.repeats) for name, fn in runs.items()}
    base_time, base = results["prefix cache"]
    print(f"{args.model}: {len(images)} images x {len(classes)} candidates, {args.threads} thread(s)")
    for name, (seconds, scores) in results.items():
        diff = float(np.abs(scores.logprob_sum - base.logprob_sum).max())
        print(
            f"  {name:26s} {len(images) / seconds:8.1f} images/s   {seconds / base_time:5.1f}x the cached time   "
            f"max |score difference| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
