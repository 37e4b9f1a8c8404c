"""Shared shifted pixels: models of one geometry run condition by condition, with and without sharing, in one run.

The demo runs every zoo model on each corruption condition before the next (``plan_items(order="benchmark")``);
a pixel shift is a pure function of the image, its geometry and its seed, so the engine keeps the last
condition's shifted pixels (``zeroshift.engine.loader.ShiftedPixels``) and the next model reuses them instead of
decoding and corrupting each image again. This script encodes the same conditions for the same models twice, in
fresh caches: once sharing, once with sharing switched off, and prints both times and the ratio. The features are
bit-identical (tests/integration/test_shared_shift_pixels.py).

Usage: uv run python benchmarks/shared_shift_pixels.py [--n 100] [--models 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from zeroshift.engine import loader
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.models.zoo import ZooModel
from zeroshift.specs import RunSpec

CORRUPTIONS = ("zoom_blur", "glass_blur", "motion_blur", "snow", "fog", "gaussian_noise", "contrast", "pixelate")


def encode_all(models: list[str], n: int, shared: bool) -> float:
    """Wall seconds to encode every model on every condition, condition by condition (clean runs excluded)."""
    key = loader.ShiftedPixels.key
    if not shared:
        loader.ShiftedPixels.key = staticmethod(lambda *a: None)  # type: ignore[method-assign]
    loader.SHIFTED_PIXELS.clear()
    try:
        runner = Runner(RunOptions(cache_dir=tempfile.mkdtemp(), workers=0, device="cpu", bootstrap=0))
        for model in models:  # load the models and their clean features first: only the shifted passes are timed
            runner.inputs(RunSpec.make(model, f"factorworld(n={n})", None)).stats  # noqa: B018 - encodes
        start = time.perf_counter()
        for name in CORRUPTIONS:
            for model in models:
                spec = RunSpec.make(model, f"factorworld(n={n})", f"corruption(name='{name}', severity=3)")
                runner.inputs(spec).stats  # noqa: B018 - the stats encode what the condition lacks
        return time.perf_counter() - start
    finally:
        loader.ShiftedPixels.key = key  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="images per condition")
    parser.add_argument("--models", type=int, default=4, help="zoo models (all 64-pixel geometry)")
    args = parser.parse_args()
    models = [f"zoo:{m}" for m in ZooModel.names()[: args.models]]
    alone = encode_all(models, args.n, shared=False)
    shared = encode_all(models, args.n, shared=True)
    conditions = len(CORRUPTIONS) * len(models)
    print(f"{len(models)} models x {len(CORRUPTIONS)} corruptions on {args.n} images ({conditions} passes)")
    print(f"each model corrupts its own images: {alone:.2f} s ({alone / conditions:.3f} s per pass)")
    print(f"shared shifted pixels:              {shared:.2f} s ({shared / conditions:.3f} s per pass)")
    print(f"ratio: {alone / shared:.2f}x")


if __name__ == "__main__":
    main()
