"""Correspondence on the CPU: ``factorworld_pairs`` generation and rendering, the zoo's dense features against its
global features of the same images, and keypoint matching; then the PCK each zoo encoder reaches.

Prints wall and process-CPU times measured in this one run and their ratios (never asserted anywhere); the CPU time
is the fairer figure on a shared machine.

    uv run python benchmarks/correspondence_speed.py [N_PAIRS]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from zeroshift.data import make_benchmark
from zeroshift.metrics.correspondence import correspondence_metrics
from zeroshift.models import resolve_model
from zeroshift.models.dense import DenseGeometry, dense_features

MODELS = ("clip-cnn-diverse", "clip-vit-diverse", "sup-cnn-base", "sup-vit-small")


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def global_features(model: Any, images: list, batch_size: int = 32) -> torch.Tensor:
    geometry = DenseGeometry(model.dense_input_size)  # the same pixels as the dense path
    out = []
    with torch.inference_mode():
        for s in range(0, len(images), batch_size):
            pixels = torch.stack([geometry(im) for im in images[s : s + batch_size]])
            out.append(model.encode_image(model.preprocess.normalize(pixels)))
    return torch.cat(out)


def main(n: int = 100) -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    bench = make_benchmark(f"factorworld_pairs(n={n}, seed=0)", None)
    data, w_sample, c_sample = timed(bench.dataset)
    images, w_render, c_render = timed(lambda: [data.load(i)[0] for i in range(len(data))])
    print(f"factorworld_pairs n={n}: {len(data)} images; sampling {w_sample:.2f} s wall ({c_sample:.2f} s CPU), "
          f"rendering {w_render:.2f} s wall ({c_render:.2f} s CPU), {1e3 * c_render / len(data):.2f} ms CPU/image")  # fmt: skip  # noqa: E501
    for name in MODELS:
        model = resolve_model(f"zoo:{name}").load()
        global_features(model, images[:8])  # warm-up
        _, w_glob, c_glob = timed(lambda m=model: global_features(m, images))
        print(f"\n{name}: global features {w_glob:.2f} s wall ({c_glob:.2f} s CPU)")
        for layer in (-1, -2):
            maps, w_dense, c_dense = timed(lambda m=model, la=layer: dense_features(m, images, layer=la))
            print(f"  layer {layer}: dense {tuple(maps.shape[1:])} {w_dense:.2f} s wall ({c_dense:.2f} s CPU), "
                  f"dense/global CPU {c_dense / max(c_glob, 1e-9):.2f}x")  # fmt: skip
            for upsample in (1, 4):
                result, w_match, c_match = timed(
                    lambda mp=maps, u=upsample: correspondence_metrics(mp, data.pairs, upsample=u, n_boot=200)
                )
                values = {v.name: v for v in result[0]}
                head = values["pck@0.10"]
                bins = "  ".join(
                    f"{b}: {values[f'pck@0.10[rotation_bin={b}]'].value:.3f}"
                    for b in ("0-45", "45-90", "90-135", "135-180")
                    if f"pck@0.10[rotation_bin={b}]" in values
                )
                print(f"    upsample {upsample}: PCK@0.10 {head.value:.3f} [{head.ci_low:.3f}, {head.ci_high:.3f}]  "
                      f"{bins}  (matching + bootstrap {w_match:.2f} s wall, {c_match:.2f} s CPU)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
