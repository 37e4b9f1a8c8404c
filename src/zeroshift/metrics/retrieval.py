"""Zero-shot image-text retrieval: Recall@K in both directions, as CLIP_benchmark defines it, in bounded memory.

Given L2-normalised image embeddings ``(N, D)``, caption embeddings ``(M, D)`` and ``text_to_image`` (the image
of each caption), the score of a pair is the dot product (the cosine), and

* **image -> text** R@k (CLIP_benchmark's ``text_retrieval_recall@k``): per image, 1 when **any** of its
  captions is among the k highest-scoring captions, averaged over images;
* **text -> image** R@k (CLIP_benchmark's ``image_retrieval_recall@k``): per caption, 1 when its image is among
  the k highest-scoring images, averaged over captions;
* ``mean_recall``: the mean of the six (R@1/5/10 both ways), i.e. RSUM / 6.

Ranks are computed instead of top-k lists: the rank of a caption's image (or of an image's best caption) is the
number of candidates scoring higher, plus those scoring equal that come first in index order; a query is a
hit at k when its rank is below k. So R@k for every k and the per-sample ranks come from one pass, and the
score matrix is computed a block of rows at a time (``max_block_bytes``, 32 MiB by default): 25k captions x
5k images never hold the 500 MB matrix (``benchmarks/retrieval_speed.py`` measures it).

**Ties.** Equal scores are ordered by index (the stable order). CLIP_benchmark takes ``torch.topk``, whose
choice among equal scores is unspecified (on CPU it is neither the lower nor the higher index), so the two can
only differ for a query whose positive has exactly the score of a negative (duplicate captions or images);
such queries are counted in the protocol (``tied_queries``).

**Intervals** are percentile bootstrap intervals over **images**: image->text resamples images; text->image
resamples images and takes all captions of each drawn image (a cluster bootstrap: the captions of one image are
not independent); the mean recall takes the same resamples for all six.

Example:
    >>> img = np.eye(3, dtype=np.float32)                      # three images, one axis each
    >>> txt = np.eye(3, dtype=np.float32)[[0, 0, 1, 2, 2]]     # five captions, of images 0, 0, 1, 1, 2
    >>> values, protocol, per_sample = retrieval_metrics(img, txt, np.array([0, 0, 1, 1, 2]), boot={"n_boot": 0})
    >>> per_sample["captions"]["t2i_rank"].tolist()  # caption 3 scores 0 with image 1, behind 2 and (tied) 0
    [1, 1, 1, 3, 1]
    >>> per_sample["images"]["i2t_rank"].tolist()  # image 2's caption 4 ties caption 3 (of image 1), index first
    [1, 1, 2]
    >>> {v.name: round(v.value, 3) for v in values}["t2i_r1"], protocol["tied_queries"]
    (0.8, {'image_to_text': 1, 'text_to_image': 1})

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci

#: recall cut-offs of the CLIP papers and CLIP_benchmark's ``--recall_k 1 5 10``
DEFAULT_KS = (1, 5, 10)
#: the largest block of the score matrix held at once (rows of queries x all candidates)
DEFAULT_BLOCK_BYTES = 32 * 2**20
#: how far from 1 an embedding's norm may be (float16 caches round unit rows by about 1e-3)
NORM_TOLERANCE = 1e-2


def check_embeddings(image_emb: np.ndarray, text_emb: np.ndarray, text_to_image: np.ndarray) -> np.ndarray:
    """Check shapes, finiteness, unit norms and the caption->image map; return ``text_to_image`` as int64.

    Raises ValueError with one line naming the problem (the embeddings come from the engine, not from a user).

    Example:
        >>> check_embeddings(np.eye(2), np.eye(2), [1, 0]).tolist()
        [1, 0]
        >>> check_embeddings(np.eye(2), np.eye(2), [0, 0])
        Traceback (most recent call last):
        ...
        ValueError: image 1 has no caption (every image needs at least one; drop captionless images first)

    """
    image_emb, text_emb = np.asarray(image_emb), np.asarray(text_emb)
    t2i = np.asarray(text_to_image)
    if image_emb.ndim != 2 or text_emb.ndim != 2 or image_emb.shape[1] != text_emb.shape[1]:
        raise ValueError(f"embeddings must be (N, D) and (M, D), got {image_emb.shape} and {text_emb.shape}")
    if len(image_emb) == 0 or len(text_emb) == 0:
        raise ValueError("retrieval needs at least one image and one caption")
    if t2i.shape != (len(text_emb),) or not np.issubdtype(t2i.dtype, np.integer):
        raise ValueError(
            f"text_to_image must be {len(text_emb)} integers (one per caption), got {t2i.shape} {t2i.dtype}"
        )
    if t2i.min() < 0 or t2i.max() >= len(image_emb):
        raise ValueError(f"text_to_image holds image indices outside 0..{len(image_emb) - 1}")
    for name, emb in (("image", image_emb), ("text", text_emb)):
        if not np.isfinite(emb).all():
            raise ValueError(f"{name} embeddings contain NaN or infinity")
        norms = np.linalg.norm(emb.astype(np.float64), axis=1)
        worst = float(np.abs(norms - 1).max())
        if worst > NORM_TOLERANCE:
            raise ValueError(f"{name} embeddings must be L2-normalised (a norm is off by {worst:.3g})")
    counts = np.bincount(t2i, minlength=len(image_emb))
    if (counts == 0).any():
        raise ValueError(
            f"image {int(np.argmax(counts == 0))} has no caption (every image needs at least one; "
            "drop captionless images first)"
        )
    return t2i.astype(np.int64)


def _rows_per_block(candidates: int, itemsize: int, max_block_bytes: int) -> int:
    return max(1, int(max_block_bytes) // max(1, candidates * itemsize))


def _ranks_with_ties(scores: np.ndarray, target: np.ndarray, first: np.ndarray, n_tied_pos: np.ndarray) -> tuple:
    """0-based stable ranks of the value ``target[r]`` in row ``r`` (its first holder at column ``first[r]``).

    ``n_tied_pos[r]`` columns of row ``r`` are positives scoring exactly ``target[r]`` (not negatives);
    returns (ranks, number of negatives tied with the target per row).
    """
    above = np.count_nonzero(scores > target[:, None], axis=1)
    tied_neg = np.count_nonzero(scores == target[:, None], axis=1) - n_tied_pos
    ranks = above.astype(np.int64)
    for r in np.flatnonzero(tied_neg > 0):  # rare (duplicates): count equal scores at lower indices
        ranks[r] += np.count_nonzero(scores[r, : first[r]] == target[r])
    return ranks, tied_neg


def retrieval_ranks(
    image_emb: np.ndarray,
    text_emb: np.ndarray,
    text_to_image: np.ndarray | Sequence[int],
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """0-based ranks of each image's best caption and of each caption's image, a block of rows at a time.

    Returns ``(image_rank (N,), text_rank (M,), info)``; ``info`` holds the block sizes and the number of
    queries whose positive ties a negative. A hit at k is ``rank < k``.

    Example:
        >>> img = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> txt = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]])   # caption 0 (of image 0) is closer to image 1
        >>> image_rank, text_rank, _ = retrieval_ranks(img, txt, [0, 0, 1])
        >>> image_rank.tolist(), text_rank.tolist()
        ([0, 0], [1, 0, 0])

    """
    t2i = check_embeddings(image_emb, text_emb, np.asarray(text_to_image))
    dtype = np.result_type(np.asarray(image_emb).dtype, np.asarray(text_emb).dtype, np.float32)
    images = np.ascontiguousarray(image_emb, dtype=dtype)
    texts = np.ascontiguousarray(text_emb, dtype=dtype)
    n, m = len(images), len(texts)
    itemsize = np.dtype(dtype).itemsize

    # image -> text: each image's captions as a padded row of ascending caption indices (-1 = none)
    order = np.argsort(t2i, kind="stable")
    counts = np.bincount(t2i, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    width = int(counts.max())
    slot = np.arange(m) - np.repeat(starts, counts)
    positives = np.full((n, width), -1, dtype=np.int64)
    positives[t2i[order], slot] = order
    image_rank = np.empty(n, dtype=np.int64)
    tied_i2t = 0
    rows_i = _rows_per_block(m, itemsize, max_block_bytes)
    for a in range(0, n, rows_i):
        scores = images[a : a + rows_i] @ texts.T
        pos = positives[a : a + rows_i]
        valid = pos >= 0
        pos_scores = np.where(valid, np.take_along_axis(scores, np.where(valid, pos, 0), axis=1), -np.inf)
        best = pos_scores.max(axis=1)
        at_best = pos_scores == best[:, None]
        first = pos[np.arange(len(pos)), np.argmax(at_best, axis=1)]  # lowest caption index scoring the best
        ranks, tied = _ranks_with_ties(scores, best, first, np.count_nonzero(at_best, axis=1))
        image_rank[a : a + rows_i] = ranks
        tied_i2t += int(np.count_nonzero(tied))

    text_rank = np.empty(m, dtype=np.int64)
    tied_t2i = 0
    rows_t = _rows_per_block(n, itemsize, max_block_bytes)
    for a in range(0, m, rows_t):
        scores = texts[a : a + rows_t] @ images.T
        target = t2i[a : a + rows_t]
        pos_scores = scores[np.arange(len(target)), target]
        ranks, tied = _ranks_with_ties(scores, pos_scores, target, np.ones(len(target), dtype=np.int64))
        text_rank[a : a + rows_t] = ranks
        tied_t2i += int(np.count_nonzero(tied))

    info = {
        "block_rows": {"image_to_text": min(rows_i, n), "text_to_image": min(rows_t, m)},
        "max_block_bytes": int(max_block_bytes),
        "dtype": str(np.dtype(dtype)),
        "tied_queries": {"image_to_text": tied_i2t, "text_to_image": tied_t2i},
    }
    return image_rank, text_rank, info


def retrieval_metrics(
    image_emb: np.ndarray,
    text_emb: np.ndarray,
    text_to_image: np.ndarray | Sequence[int],
    ks: Sequence[int] = DEFAULT_KS,
    boot: dict[str, Any] | None = None,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Image->text and text->image R@k for each k, their mean, bootstrap intervals over images, per-sample ranks.

    Args:
        image_emb: ``(N, D)`` L2-normalised image embeddings.
        text_emb: ``(M, D)`` L2-normalised caption embeddings.
        text_to_image: ``(M,)`` the image index of each caption (every image needs at least one caption).
        ks: the recall cut-offs.
        boot: bootstrap settings over :data:`~zeroshift.metrics.base.DEFAULT_BOOTSTRAP` (``n_boot=0``: none).
        max_block_bytes: the largest block of the score matrix held at once.

    Returns:
        ``(values, protocol, per_sample)``: ``i2t_r{k}``, ``t2i_r{k}`` and ``mean_recall`` values; the protocol
        of every choice; per-sample columns ``{"images": {"i2t_rank"}, "captions": {"t2i_rank", "image"}}``
        with 1-based ranks (a hit at k is ``rank <= k``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> img = rng.normal(size=(20, 8)); img /= np.linalg.norm(img, axis=1, keepdims=True)
        >>> txt = img[np.repeat(np.arange(20), 2)]                 # two exact captions per image
        >>> values, protocol, _ = retrieval_metrics(img, txt, np.repeat(np.arange(20), 2), boot={"n_boot": 50})
        >>> [round(v.value, 3) for v in values if v.name in ("i2t_r1", "t2i_r1", "mean_recall")]
        [1.0, 1.0, 1.0]
        >>> protocol["tied_queries"]
        {'image_to_text': 0, 'text_to_image': 0}

    """
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"recall cut-offs must be positive integers, got {ks}")
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    t2i = check_embeddings(image_emb, text_emb, np.asarray(text_to_image))
    image_rank, text_rank, info = retrieval_ranks(image_emb, text_emb, t2i, max_block_bytes)
    n = len(image_rank)
    counts = np.bincount(t2i, minlength=n).astype(np.float64)
    ci = {k: v for k, v in boot.items() if k in ("n_boot", "alpha", "seed")}

    values: list[MetricValue] = []
    i2t_hits = {k: (image_rank < k).astype(np.float64) for k in ks}
    # text->image hits summed per image: the cluster bootstrap resamples images with all their captions
    t2i_hits = {k: np.bincount(t2i, weights=(text_rank < k).astype(np.float64), minlength=n) for k in ks}
    for k in ks:
        details = {"direction": "image->text", "k": k, "clip_benchmark": f"text_retrieval_recall@{k}"}
        values.append(mean_with_ci(i2t_hits[k], f"i2t_r{k}", True, boot, details))
    for k in ks:
        hits = t2i_hits[k]
        lo, hi = bootstrap_ci(lambda idx, h=hits: float(h[idx].sum() / counts[idx].sum()), n, **ci)
        details = {"direction": "text->image", "k": k, "clip_benchmark": f"image_retrieval_recall@{k}"}
        values.append(MetricValue(f"t2i_r{k}", float(hits.sum() / counts.sum()), True, lo, hi, details))

    def mean_recall(idx: np.ndarray) -> float:
        total = counts[idx].sum()
        parts = [i2t_hits[k][idx].mean() for k in ks] + [t2i_hits[k][idx].sum() / total for k in ks]
        return float(np.mean(parts))

    lo, hi = bootstrap_ci(mean_recall, n, **ci)
    values.append(
        MetricValue(
            "mean_recall",
            mean_recall(np.arange(n)),
            True,
            lo,
            hi,
            {"of": [v.name for v in values], "rsum_over": 2 * len(ks)},
        )
    )

    protocol = {
        "task": "zero-shot image-text retrieval",
        "score": "dot product of L2-normalised embeddings (cosine)",
        "ks": list(ks),
        "image_to_text": "per image: hit at k when any of its captions is among the k highest-scoring captions "
        "(CLIP_benchmark text_retrieval_recall@k); mean over images",
        "text_to_image": "per caption: hit at k when its image is among the k highest-scoring images "
        "(CLIP_benchmark image_retrieval_recall@k); mean over captions",
        "mean_recall": f"mean of the {2 * len(ks)} recalls (RSUM / {2 * len(ks)})",
        "ties": "equal scores ranked in index order (stable); CLIP_benchmark's torch.topk picks among equal scores "
        "in an unspecified order, so the two can differ only on queries counted in tied_queries",
        "tied_queries": info["tied_queries"],
        "ranks": "1-based: an image's best caption among all captions; a caption's image among all images",
        "n_images": n,
        "n_captions": len(t2i),
        "captions_per_image": {"min": int(counts.min()), "max": int(counts.max())},
        "bootstrap": {
            **boot,
            "unit": "images; text->image resamples images with all their captions (cluster bootstrap)",
        },
        "blocks": {k: info[k] for k in ("block_rows", "max_block_bytes", "dtype")},
    }
    per_sample = {
        "images": {"i2t_rank": image_rank + 1},
        "captions": {"t2i_rank": text_rank + 1, "image": t2i},
    }
    return values, protocol, per_sample


__all__ = ["DEFAULT_KS", "check_embeddings", "retrieval_metrics", "retrieval_ranks"]
