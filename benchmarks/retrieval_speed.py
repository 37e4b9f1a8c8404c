"""Retrieval metrics from cached features at MSCOCO 5k scale: 5,000 images x 25,000 captions, width 512.

zeroshift's blocked ranks (``retrieval_metrics``: the score matrix a block of rows at a time) against a naive
full-matrix numpy version (the whole 25k x 5k score matrix, then a full sort per query), in the same run on the same
random unit vectors. Prints both times, both peak memories (tracemalloc: numpy's allocations) and the ratios; the
two must agree on every recall.

    uv run python benchmarks/retrieval_speed.py [--images 5000] [--per-image 5] [--width 512]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from zeroshift.metrics.retrieval import retrieval_metrics


def naive(images: np.ndarray, texts: np.ndarray, t2i: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """The textbook way: the full score matrix, a full stable argsort per query."""
    scores = texts @ images.T  # (M, N)
    order = np.argsort(-scores, axis=1, kind="stable")
    t2i_rank = np.argmax(order == t2i[:, None], axis=1)
    order_t = np.argsort(-scores.T, axis=1, kind="stable")  # (N, M)
    own = t2i[order_t] == np.arange(len(images))[:, None]
    i2t_rank = np.argmax(own, axis=1)
    out = {f"i2t_r{k}": float(np.mean(i2t_rank < k)) for k in ks}
    out.update({f"t2i_r{k}": float(np.mean(t2i_rank < k)) for k in ks})
    return out


def measure(fn, *args, **kwargs):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per-image", type=int, default=5)
    parser.add_argument("--width", type=int, default=512)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.normal(size=(args.images, args.width)).astype(np.float32)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    t2i = np.repeat(np.arange(args.images), args.per_image)
    # captions near their image, so recalls are neither 0 nor 1
    texts = images[t2i] + 5.0 * rng.normal(size=(len(t2i), args.width)).astype(np.float32) / np.sqrt(args.width)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    (values, _, _), ours_s, ours_peak = measure(retrieval_metrics, images, texts, t2i, boot={"n_boot": 0})
    reference, naive_s, naive_peak = measure(naive, images, texts, t2i)
    got = {v.name: v.value for v in values}
    assert all(abs(got[k] - v) < 1e-12 for k, v in reference.items()), (got, reference)
    gib = 2**30
    print(f"{args.images} images x {len(t2i)} captions, width {args.width}")
    print(f"zeroshift (blocked): {ours_s:7.2f} s, peak {ours_peak / gib:.3f} GiB")
    print(f"naive full matrix:   {naive_s:7.2f} s, peak {naive_peak / gib:.3f} GiB")
    print(f"speed-up {naive_s / ours_s:.2f}x, memory ratio {naive_peak / ours_peak:.1f}x; recalls equal: "
          + ", ".join(f"{k}={v:.4f}" for k, v in sorted(got.items())))  # fmt: skip
    if ours_peak > gib:
        raise SystemExit("zeroshift's peak memory exceeds 1 GiB")


if __name__ == "__main__":
    main()
