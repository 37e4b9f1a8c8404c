"""Overlap index at scale: build an index over N random d-dim unit vectors and query Q, against brute-force numpy.

Builds :func:`zeroshift.overlap.index.build_index` over ``N`` (default 1,000,000) random 512-d vectors produced in
streaming chunks (IVF-PQ under the ``auto`` plan above 200k rows, re-ranked by exact cosine), queries ``Q``
(default 50,000: half noisy copies of corpus rows, half fresh vectors), and times both, with the peak resident
memory. The baseline is brute-force numpy (a float32 matmul against every row in blocks, top-1) on a subset of
``--brute`` queries, scaled up to ``Q``; the ratio of the two and the index's agreement with the exact top-1 (and
its flags at cosine 0.9) are printed in this one run.

    nice -n 10 uv run python benchmarks/overlap_scale.py            # 1M x 512, 50k queries
    nice -n 10 uv run python benchmarks/overlap_scale.py --n 200000 --queries 10000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from zeroshift.overlap.corpus import ArrayCorpus
from zeroshift.overlap.features import ModelRef
from zeroshift.overlap.index import build_index

BLOCK = 65536


def rows(seed: int, dim: int):
    """``rows(start, stop)``: seeded random unit rows, the same whatever the chunking (a block per seed)."""

    def make(start: int, stop: int) -> np.ndarray:
        out = []
        for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
            x = np.random.default_rng([seed, b]).standard_normal((BLOCK, dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            lo, hi = max(start, b * BLOCK) - b * BLOCK, min(stop, (b + 1) * BLOCK) - b * BLOCK
            out.append(x[lo:hi])
        return np.concatenate(out)

    return make


def queries(make, n: int, q: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half noisy copies of corpus rows (cosine ~0.97), half fresh rows; the source row of each copy (-1: fresh)."""
    rng = np.random.default_rng(seed)
    src = np.sort(rng.choice(n, q // 2, replace=False))
    copies = np.empty((len(src), dim), dtype=np.float32)
    for b in np.unique(src // BLOCK):  # one block of rows drawn once for all the copies it holds
        here = np.flatnonzero(src // BLOCK == b)
        block = make(int(b) * BLOCK, min(n, (int(b) + 1) * BLOCK))
        copies[here] = block[src[here] - int(b) * BLOCK]
    copies += rng.normal(scale=0.25 / np.sqrt(dim), size=copies.shape).astype(np.float32)
    fresh = rng.standard_normal((q - len(src), dim), dtype=np.float32)
    return np.concatenate([copies, fresh]), np.concatenate([src, np.full(q - len(src), -1)])


def brute_top1(vectors: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-1 cosine and row by a float32 matmul against every row, a block of rows at a time."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    best, arg = np.full(len(q), -np.inf, dtype=np.float32), np.full(len(q), -1)
    for start in range(0, vectors.shape[0], BLOCK):
        sims = q @ np.asarray(vectors[start : start + BLOCK]).T
        j = sims.argmax(axis=1)
        s = sims[np.arange(len(q)), j]
        better = s > best
        best[better], arg[better] = s[better], j[better] + start
    return best, arg


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--brute", type=int, default=1000, help="queries answered by brute force (scaled up)")
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--folder", default=None, help="index folder (default: a temporary one)")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="overlap-scale-")) / "index"
    make = rows(0, args.dim)
    corpus = ArrayCorpus(make, ModelRef("bench:random", "random-unit-vectors"), n=args.n, name=f"random{args.n}")
    q, src = queries(make, args.n, args.queries, args.dim, 1)

    t0 = time.perf_counter()
    index = build_index(folder, corpus, chunk_size=args.chunk)
    t_build = time.perf_counter() - t0
    mem_build = peak_gib()
    t0 = time.perf_counter()
    cos, ids = index.search(q, k=1)
    t_query = time.perf_counter() - t0
    mem_query = peak_gib()

    sub = np.random.default_rng(2).choice(args.queries, size=min(args.brute, args.queries), replace=False)
    t0 = time.perf_counter()
    b_cos, b_ids = brute_top1(index.vectors, q[sub])
    t_brute = (time.perf_counter() - t0) * args.queries / len(sub)

    planted = src[sub] >= 0
    agree = float((ids[sub, 0] == b_ids).mean())
    same_flags = float(((cos[sub, 0] >= 0.9) == (b_cos >= 0.9)).mean())
    found = float((ids[src >= 0, 0] == src[src >= 0]).mean())
    plan = index.manifest["index"]
    print(f"index {plan['factory']} ({plan['type']}; params {plan['params']}) over {args.n:,} x {args.dim}")
    print(f"build: {t_build:.1f} s; query {args.queries:,}: {t_query:.1f} s ({args.queries / t_query:,.0f} q/s)")
    print(f"brute-force numpy top-1 on {len(sub):,} queries, scaled to {args.queries:,}: {t_brute:.1f} s")
    print(f"ratio brute / index query: {t_brute / t_query:.1f}x")
    n_planted = int((src >= 0).sum())
    print(
        f"top-1 agreement with brute force: {agree:.4f}; same flag at cosine 0.9: {same_flags:.4f}; "
        f"planted copies found: {found:.4f} of {n_planted:,} ({int(planted.sum())} in the brute-force subset)"
    )
    print(f"peak resident memory: {mem_build:.2f} GiB after build, {mem_query:.2f} GiB after queries")


if __name__ == "__main__":
    main()
