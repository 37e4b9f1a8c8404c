"""Corrupted images per second of each 3D corruption next to the 2D ImageNet-C corruption it resembles, on CPU.

Both shifts run in this process on the same 224 px photos (the shared ImageNet samples), interleaved image by
image so that machine load affects them alike; the ratio ``3D / 2D`` is the figure to read. Each figure is the
whole pixel shift as the loader runs it ([0, 1] tensor -> 8-bit -> corruption -> tensor), seeded per image. The
pairs come from the ``resembles`` field of ``corruption3d.yaml`` (near_focus/far_focus vs defocus_blur, fog_3d vs
fog, xy_motion_blur vs motion_blur, z_motion_blur vs zoom_blur, flash and low_light vs brightness, iso_noise vs
gaussian_noise, color_quant and the codecs vs jpeg_compression). The photos have no depth maps here: each gets a
synthetic one (a ground plane receding to the far limit with a near object in the middle), which is all the
corruptions' cost depends on. Rates use CPU time (``process_time``, all threads), what a loader worker spends.

``--factorworld N`` times instead the demo's case: N FactorWorld test images (64 px) with their exact depth, every
corruption at ``--severity``, and the rendering of the depth maps; it prints CPU seconds per N images.

Usage:
    uv run python benchmarks/corruption3d_speed.py [--severity 3] [--images 8] [--repeat 2] [--names fog_3d,flash]
    uv run python benchmarks/corruption3d_speed.py --factorworld 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import sample_manifest, shared_data_dir  # noqa: E402

from zeroshift.shifts import make_shift  # noqa: E402
from zeroshift.shifts.base import ShiftContext, per_image_seed  # noqa: E402
from zeroshift.shifts.corruption3d import NAMES, definition  # noqa: E402
from zeroshift.shifts.pixels import from_uint8_hwc  # noqa: E402


def photos(n: int) -> list[np.ndarray]:
    folder = shared_data_dir() / "imagenet-samples"
    files = [row["file"] for row in sample_manifest()[:: max(1, 1000 // n)][:n]]
    return [np.asarray(ImageOps.fit(Image.open(folder / f).convert("RGB"), (224, 224), Image.BICUBIC)) for f in files]


def synthetic_depth(size: int = 224) -> np.ndarray:
    """A ground plane from 0.5 (top) to 0.05 (bottom) with a near object (0.01) in the middle third."""
    depth = np.linspace(0.5, 0.05, size, dtype=np.float32)[:, None] * np.ones((1, size), np.float32)
    ys, xs = np.mgrid[0:size, 0:size]
    depth[(ys - size / 2) ** 2 + (xs - size / 2) ** 2 < (size / 6) ** 2] = 0.01
    return depth


def spec_3d(name: str, severity: int) -> str:
    depth = ", depth='factorworld'" if definition(name).depth else ""  # any depth source: the map is handed in
    return f"corruption3d(name='{name}', severity={severity}{depth})"


def timed(shift, tensor: torch.Tensor, ctx: ShiftContext) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    shift.apply(tensor, ctx)
    return time.process_time() - c0, time.perf_counter() - w0


def compare(args: argparse.Namespace) -> None:
    images = [from_uint8_hwc(x) for x in photos(args.images)]
    depth = synthetic_depth()
    print(f"{len(images)} photos at 224 px, severity {args.severity}, {args.repeat} pass(es); rates from CPU time")
    header = (
        f"{'3D corruption':15s} {'img/s':>8s}  {'2D corruption':16s} {'img/s':>8s} {'3D/2D':>7s} {'wall 3D/2D':>11s}"
    )
    print(header)
    print("-" * len(header))
    for name in args.names.split(","):
        twin = definition(name).resembles
        shifts = (
            make_shift(spec_3d(name, args.severity)),
            make_shift(f"corruption(name='{twin}', severity={args.severity})"),
        )
        sample = ShiftContext("warm-up", seed=0, params={"depth": depth})
        for shift in shifts:  # warm up (imports, codec libraries, first-call caches)
            shift.apply(images[0], sample)
        cpu, wall = [0.0, 0.0], [0.0, 0.0]
        for r in range(args.repeat):
            for i, tensor in enumerate(images):
                for k, shift in enumerate(shifts):
                    sid = f"img{i}-{r}"
                    ctx = ShiftContext(sid, seed=per_image_seed(0, shift.canonical, sid), params={"depth": depth})
                    c, w = timed(shift, tensor, ctx)
                    cpu[k] += c
                    wall[k] += w
        n = len(images) * args.repeat
        print(
            f"{name:15s} {n / cpu[0]:8.1f}  {twin:16s} {n / cpu[1]:8.1f} "
            f"{cpu[1] / cpu[0]:7.2f} {wall[1] / wall[0]:11.2f}"
        )


def factorworld(args: argparse.Namespace) -> None:
    from zeroshift.data import make_benchmark
    from zeroshift.depth import parse_depth_source

    data = make_benchmark(f"factorworld(n={args.factorworld})", None).dataset()
    images = [
        torch.from_numpy(np.asarray(data.load(i)[0], dtype=np.float32).transpose(2, 0, 1) / 255)
        for i in range(len(data))
    ]
    source = parse_depth_source("factorworld")
    c0 = time.process_time()
    maps = source.rows(data, range(len(data)))
    depth_cpu = time.process_time() - c0
    print(f"{len(data)} FactorWorld images at 64 px, severity {args.severity}; CPU seconds per {len(data)} images")
    print(f"{'depth maps (render)':22s} {depth_cpu:7.2f}")
    total = depth_cpu
    for name in args.names.split(","):
        shift = make_shift(spec_3d(name, args.severity))
        shift.apply(images[0], ShiftContext("warm-up", seed=0, params={"depth": maps[0]}))
        c0 = time.process_time()
        for i, (tensor, depth) in enumerate(zip(images, maps, strict=True)):
            sid = data.sample_ids[i]
            shift.apply(
                tensor, ShiftContext(sid, seed=per_image_seed(0, shift.canonical, sid), params={"depth": depth})
            )
        cpu = time.process_time() - c0
        total += cpu
        print(f"{name:22s} {cpu:7.2f}")
    print(f"{'all, one severity':22s} {total:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--names", default=",".join(NAMES))
    parser.add_argument("--factorworld", type=int, default=0, help="time N FactorWorld images instead")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a loader worker
    factorworld(args) if args.factorworld else compare(args)


if __name__ == "__main__":
    main()
