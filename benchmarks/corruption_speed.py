"""Corrupted images per second for each ImageNet-C corruption: zeroshift's port vs the reference, on CPU.

Both run in this process on the same 224 px photos (the shared ImageNet samples), interleaved image by image so
that machine load affects them alike; the ratio ``ours / reference`` is the figure to read. zeroshift's figure is
the whole pixel shift as the loader runs it ([0, 1] tensor -> uint8 -> corruption -> tensor). The reference is
``imagecorruptions`` 1.1.2 (with the test-only shim for renamed numpy / scikit-image APIs); where it is not
installed only zeroshift's figures are printed. The corruptions are numpy/OpenCV code that runs in CPU loader
workers, so a GPU does not change these figures. Both CPU time (``process_time``, all threads) and wall time are
measured; rates below use CPU time, which is what a loader worker spends.

Usage:
    uv run python benchmarks/corruption_speed.py [--severity 3] [--images 8] [--repeat 2] [--names fog,snow]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import sample_manifest, shared_data_dir  # noqa: E402
from tests.imagecorruptions_compat import load_reference  # noqa: E402

from zeroshift.shifts.base import ShiftContext, per_image_seed  # noqa: E402
from zeroshift.shifts.corruptions import Corruption  # noqa: E402
from zeroshift.shifts.imagenet_c import NAMES  # noqa: E402
from zeroshift.shifts.pixels import from_uint8_hwc  # noqa: E402


def photos(n: int) -> list[np.ndarray]:
    folder = shared_data_dir() / "imagenet-samples"
    files = [row["file"] for row in sample_manifest()[:: max(1, 1000 // n)][:n]]
    return [np.asarray(ImageOps.fit(Image.open(folder / f).convert("RGB"), (224, 224), Image.BICUBIC)) for f in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--names", default=",".join(NAMES))
    args = parser.parse_args()
    reference = load_reference()
    images = photos(args.images)
    tensors = [from_uint8_hwc(x) for x in images]
    print(f"{len(images)} photos at 224 px, severity {args.severity}, {args.repeat} pass(es); rates from CPU time")
    print(f"reference: {'imagecorruptions 1.1.2 (shimmed)' if reference else 'not installed'}")
    header = f"{'corruption':18s} {'ours img/s':>11s} {'ref img/s':>11s} {'ours/ref':>9s} {'wall ours/ref':>14s}"
    print(header)
    print("-" * len(header))
    for name in args.names.split(","):
        shift = Corruption(name=name, severity=args.severity)
        # warm up both (imports, frost texture decoding, first-call caches)
        shift.apply(tensors[0], ShiftContext("warmup", seed=1))
        if reference is not None:
            reference.corrupt(images[0], corruption_name=name, severity=args.severity)
        cpu = {"ours": 0.0, "ref": 0.0}
        wall = {"ours": 0.0, "ref": 0.0}
        count = 0
        for r in range(args.repeat):
            for k, (x, t) in enumerate(zip(images, tensors, strict=True)):
                ctx = ShiftContext(f"img{k}", seed=per_image_seed(r, shift.canonical, f"img{k}"))
                c0, w0 = time.process_time(), time.perf_counter()
                shift.apply(t, ctx)
                cpu["ours"] += time.process_time() - c0
                wall["ours"] += time.perf_counter() - w0
                if reference is not None:
                    np.random.seed(r * 1000 + k)
                    c0, w0 = time.process_time(), time.perf_counter()
                    reference.corrupt(x, corruption_name=name, severity=args.severity)
                    cpu["ref"] += time.process_time() - c0
                    wall["ref"] += time.perf_counter() - w0
                count += 1
        ours = count / max(cpu["ours"], 1e-9)
        if reference is None:
            print(f"{name:18s} {ours:11.1f} {'-':>11s} {'-':>9s} {'-':>14s}")
            continue
        ref = count / max(cpu["ref"], 1e-9)
        print(f"{name:18s} {ours:11.1f} {ref:11.1f} {ours / ref:9.2f} {wall['ref'] / max(wall['ours'], 1e-9):14.2f}")


if __name__ == "__main__":
    main()
