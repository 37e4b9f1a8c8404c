"""Engine throughput, measured in one run on the machine at hand.

Prints two ratios:

1. pipeline efficiency = zeroshift's end-to-end images/s (files -> decode -> geometry -> encoder -> cached
   features, loader workers overlapping the encoder) / the pure image encoder's images/s on tensors already in
   memory (target >= 0.85 on CPU);
2. zeroshift's wall time / CLIP_benchmark's wall time on the same job (ViT-B-32 checkpoint, ImageNet-R layout of
   the shared photos, one template, fp32, cold caches; both as command-line subprocesses; target <= 1.0).

Usage: uv run python benchmarks/engine_throughput.py [--batch-size N] [--skip-clip-benchmark]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import build_wnid_layout, clip_benchmark_command, require_shared  # noqa: E402

from zeroshift.data import make_benchmark  # noqa: E402
from zeroshift.data.info import subset_wnids  # noqa: E402
from zeroshift.engine.runner import Runner, RunOptions  # noqa: E402
from zeroshift.models import resolve_model  # noqa: E402
from zeroshift.specs import RunSpec  # noqa: E402


def pure_encoder_rate(spec: str, data_root: Path, batch_size: int) -> float:
    model = resolve_model(spec).load()
    dataset = make_benchmark("imagenet_r", data_root).dataset()
    pixels = torch.stack([model.preprocess.geometry(dataset.load(i)[0]) for i in range(len(dataset))])
    with torch.inference_mode():
        model.encode_image(model.preprocess.normalize(pixels[:batch_size]))  # warm-up
        start = time.perf_counter()
        for i in range(0, len(pixels), batch_size):
            model.encode_image(model.preprocess.normalize(pixels[i : i + batch_size]))
        return len(pixels) / (time.perf_counter() - start)


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{proc.stderr[-3000:]}")
    return elapsed


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurement pairs (median reported)")
    parser.add_argument("--skip-clip-benchmark", action="store_true")
    args = parser.parse_args()
    require_shared("imagenet-samples")
    work = Path(tempfile.mkdtemp(prefix="zs-bench-"))
    data_root = work / "data"
    build_wnid_layout(data_root / "imagenet-r", set(subset_wnids("imagenet_r")))
    checkpoint = work / "vit_b_32_seed0.pt"
    torch.save(resolve_model("random:open_clip/ViT-B-32?seed=0").load().module.state_dict(), checkpoint)
    spec = f"open_clip:ViT-B-32@{checkpoint}"
    (work / "template.txt").write_text("a photo of a {}.\n")
    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"200 ImageNet-R-layout photos, ViT-B-32, batch {args.batch_size}, {args.repeats} alternating pairs"
    )

    # 1. pipeline efficiency: pure encoder vs end to end, measured in alternation so load changes hit both
    ratios = []
    for r in range(args.repeats):
        encoder = pure_encoder_rate(spec, data_root, args.batch_size)
        runner = Runner(
            RunOptions(data_root=data_root, cache_dir=work / f"cache-a{r}", batch_size=args.batch_size, bootstrap=0)
        )
        record = runner.run(RunSpec.make(spec, "imagenet_r", prompts=str(work / "template.txt")))
        end_to_end = record.counts["images_per_s"]
        ratios.append(end_to_end / encoder)
        print(
            f"  pair {r + 1}: pure encoder {encoder:6.2f} img/s, zeroshift end to end "
            f"({record.config['workers']} loader worker) {end_to_end:6.2f} img/s, ratio {ratios[-1]:.3f}"
        )
    print(f"pipeline efficiency ratio (median): {median(ratios):.3f} (target >= 0.85)")

    if args.skip_clip_benchmark:
        return
    # 2. wall time of the same job, both as command-line subprocesses with cold caches, in alternation
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    (work / "templates.json").write_text(json.dumps({"imagenet-r": ["a photo of a {c}."]}))
    walls = []
    for r in range(args.repeats):
        cb = timed(
            clip_benchmark_command(
                checkpoint, data_root / "imagenet-r", work / "templates.json", work / f"cb{r}.json", args.batch_size
            ),
            env,
        )
        zs = timed(
            [
                sys.executable,
                "-m",
                "zeroshift.cli",
                "run",
                "-m",
                spec,
                "-b",
                "imagenet_r",
                "-p",
                str(work / "template.txt"),
                "--data-root",
                str(data_root),
                "--store",
                str(work / "r.db"),
                "--batch-size",
                str(args.batch_size),
                "--workers",
                "1",
                "--no-progress",
            ],
            {**env, "ZEROSHIFT_CACHE": str(work / f"cache-b{r}")},
        )
        walls.append(zs / cb)
        print(
            f"  pair {r + 1}: CLIP_benchmark {cb:6.1f} s, zeroshift (cold cache, bootstrap CIs) {zs:6.1f} s, "
            f"ratio {walls[-1]:.3f}"
        )
    print(f"wall-time ratio zeroshift / CLIP_benchmark (median): {median(walls):.3f} (target <= 1.0)")


if __name__ == "__main__":
    main()
