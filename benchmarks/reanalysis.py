"""Re-analysis from the cache against the first run of the same job, measured in one run.

The job (issue 10): a ViT-B-32 (seeded random weights; no pretrained weights are reachable offline) on ImageNet-R
built from the shared photos (200 images, one per class), the 80 OpenAI templates, the accuracy and calibration
groups. The first run encodes the images and the 200-class head into a fresh cache; the re-analysis is the same
command with another calibration bin count, so every artefact comes from the cache: it must build no model and import
no model backend. Both are timed as command-line subprocesses (imports included), and the ratio printed.

Usage: uv run python benchmarks/reanalysis.py [--model SPEC] [--images N]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import build_wnid_layout, require_shared  # noqa: E402

from zeroshift.data.info import subset_wnids  # noqa: E402

CHECK = """
import sys, json
from zeroshift.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
heavy = [m for m in ("open_clip", "transformers", "timm", "torchvision") if m in sys.modules]
print("@@" + json.dumps(heavy))
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, list[str], dict]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHECK, *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    lines = proc.stdout.splitlines()
    heavy = json.loads(next(x for x in lines[::-1] if x.startswith("@@"))[2:])
    record = json.loads(next(x for x in lines if x.startswith("{")))
    return seconds, heavy, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="random:open_clip/ViT-B-32?seed=0")
    args = parser.parse_args()
    require_shared("imagenet-samples")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        build_wnid_layout(root / "imagenet-r", set(subset_wnids("imagenet_r")))
        env = {**os.environ, "ZEROSHIFT_CACHE": str(Path(tmp) / "cache"), "HF_HUB_OFFLINE": "1"}
        common = ["run", "-m", args.model, "-b", "imagenet_r", "--data-root", str(root), "--store",
                  str(Path(tmp) / "results.db"), "--metrics", "accuracy", "--metrics", "calibration",
                  "--metric-param", "calibration.temperature=1.0", "--json", "--no-progress"]  # fmt: skip
        first, _, rec1 = timed([*common, "--metric-param", "calibration.n_bins=15"], env)
        again, heavy, rec2 = timed([*common, "--metric-param", "calibration.n_bins=10"], env)
    print(f"job: {args.model} on imagenet_r ({rec1['counts']['evaluated']} images, 80 templates x 200 classes)")
    print(f"first run:   {first:7.1f} s  (encoded {rec1['counts']['encoded_total']} images)")
    print(f"re-analysis: {again:7.1f} s  (encoded {rec2['counts']['encoded_total']} images; backends imported: "
          f"{heavy or 'none'})")  # fmt: skip
    print(f"ratio first / re-analysis: {first / again:.1f}x (target >= 30x)")


if __name__ == "__main__":
    main()
