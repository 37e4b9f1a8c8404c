"""The modality gap (Liang et al., NeurIPS 2022): how far apart images and texts sit in a CLIP embedding space.

On L2-normalised embeddings, with ``c_img`` and ``c_txt`` the centroids (means) of the image and of the text
embeddings:

* ``gap_distance`` = ``||c_img - c_txt||_2``, the "gap distance" of Liang et al.'s code
  (``Weixin-Liang/Modality-Gap``, ``move_features``: ``(text.mean(0) - image.mean(0)).norm()``);
* ``centroid_cosine``: the cosine between the two centroids;
* ``matched_cosine``: the mean cosine of matched (image, text) pairs;
* ``random_cosine``: the mean cosine of random unmatched pairs (each text, or each image, with one partner drawn
  uniformly from the others with a recorded seed), the baseline the matched cosine is read against.

Two variants:

* :func:`modality_gap` for captioned images (retrieval sets): the centroids are over every image and every
  caption; matched pairs are (caption, its image); intervals resample images with all their captions;
* :func:`modality_gap_classification` for classification sets: images against the text-head rows of the
  classes; the text centroid is over the class rows, each once (as Liang et al. average the class prompts);
  matched pairs are (image, its class row); intervals resample images (the class rows are not samples).

Example:
    >>> img = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> txt = np.array([[0.6, 0.8], [0.8, 0.6]])          # centroid (0.7, 0.7); the images' is (0.5, 0.5)
    >>> values, protocol, _ = modality_gap(img, txt, [0, 1], boot={"n_boot": 0})
    >>> {v.name: round(v.value, 4) for v in values}["gap_distance"]  # ||(0.2, 0.2)|| = 0.2 * sqrt(2)
    0.2828

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, _percentile_interval, _resample_blocks
from zeroshift.metrics.retrieval import NORM_TOLERANCE, check_embeddings

#: the seed of the random unmatched pairs (recorded with every value)
DEFAULT_RANDOM_SEED = 0
_NAMES = ("gap_distance", "centroid_cosine", "matched_cosine", "random_cosine")
_HIGHER = {"gap_distance": False, "centroid_cosine": True, "matched_cosine": True, "random_cosine": False}


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of unit rows (the cosines), returned as float64."""
    return np.einsum("ij,ij->i", a, b).astype(np.float64)


def _other_index(rng: np.random.Generator, own: np.ndarray, n: int) -> np.ndarray:
    """For each entry of ``own``, an index drawn uniformly from ``0..n-1`` without ``own`` itself."""
    draw = rng.integers(0, n - 1, size=len(own))
    return draw + (draw >= own)


def _centroid_stats(c_img: np.ndarray, c_txt: np.ndarray) -> tuple[float, float]:
    norm = np.linalg.norm(c_img) * np.linalg.norm(c_txt)
    return float(np.linalg.norm(c_img - c_txt)), float(c_img @ c_txt / norm) if norm > 0 else float("nan")


def _summarise(
    images: np.ndarray,
    text_sum: np.ndarray | None,
    text_count: np.ndarray,
    matched_sum: np.ndarray,
    random_sum: np.ndarray,
    fixed_text_centroid: np.ndarray | None,
    boot: dict[str, Any],
) -> list[MetricValue]:
    """The four values and their intervals from per-image sums (texts, matched and random cosines, counts).

    A bootstrap replicate weighs image ``i`` by how often it was drawn; sums over the texts of the drawn images
    (``text_sum``) then give the replicate's text centroid and pair means, unless the text centroid is
    ``fixed_text_centroid``. The (B, N) x (N, D) products stay in the embeddings' float32, so ImageNet's 50k
    images are never copied to float64.
    """
    n = len(images)
    dtype = images.dtype

    def stats(w: np.ndarray) -> np.ndarray:  # w: (B, n) replicate weights -> (B, 4)
        wf = w.astype(dtype)
        c_img = (wf @ images).astype(np.float64) / w.sum(axis=1, keepdims=True)
        pairs = w @ text_count
        if text_sum is None:
            c_txt = np.broadcast_to(fixed_text_centroid, c_img.shape)
        else:
            c_txt = (wf @ text_sum).astype(np.float64) / pairs[:, None]
        dist = np.linalg.norm(c_img - c_txt, axis=1)
        cos = np.einsum("bd,bd->b", c_img, c_txt) / (np.linalg.norm(c_img, axis=1) * np.linalg.norm(c_txt, axis=1))
        return np.stack([dist, cos, w @ matched_sum / pairs, w @ random_sum / pairs], axis=1)

    point = stats(np.ones((1, n)))[0]
    draws = []
    if n >= 2 and boot["n_boot"] > 0:
        for block in _resample_blocks(n, boot["n_boot"], boot["seed"]):
            weights = np.stack([np.bincount(row, minlength=n) for row in block]).astype(np.float64)
            draws.append(stats(weights))
    reps = np.concatenate(draws) if draws else np.empty((0, 4))
    values = []
    for j, name in enumerate(_NAMES):
        lo, hi = _percentile_interval(reps[:, j], boot["alpha"]) if len(reps) else (float("nan"), float("nan"))
        values.append(MetricValue(name, float(point[j]), _HIGHER[name], lo, hi))
    return values


def modality_gap(
    image_emb: np.ndarray,
    text_emb: np.ndarray,
    text_to_image: np.ndarray | Sequence[int],
    boot: dict[str, Any] | None = None,
    random_seed: int = DEFAULT_RANDOM_SEED,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Gap distance, centroid cosine, matched- and random-pair cosines of captioned images.

    Args:
        image_emb: ``(N, D)`` L2-normalised image embeddings.
        text_emb: ``(M, D)`` L2-normalised caption embeddings.
        text_to_image: ``(M,)`` the image of each caption (every image needs at least one).
        boot: bootstrap settings over :data:`~zeroshift.metrics.base.DEFAULT_BOOTSTRAP` (``n_boot=0``: none).
        random_seed: seed of the random pairs (each caption with an image drawn uniformly from the others).

    Returns:
        ``(values, protocol, per_sample)``; per-sample columns ``{"images": {"matched_cosine"}, "captions":
        {"cosine"}}``: an image's mean cosine with its captions, a caption's cosine with its image.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> img = rng.normal(size=(6, 4)); img /= np.linalg.norm(img, axis=1, keepdims=True)
        >>> values, _, _ = modality_gap(img, img[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]], np.repeat(np.arange(6), 2))
        >>> [round(v.value, 6) for v in values[:3]]  # identical embeddings: no gap, matched cosine 1
        [0.0, 1.0, 1.0]

    """
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    t2i = check_embeddings(image_emb, text_emb, np.asarray(text_to_image))
    dtype = np.result_type(np.asarray(image_emb).dtype, np.asarray(text_emb).dtype, np.float32)
    images = np.asarray(image_emb, dtype=dtype)
    texts = np.asarray(text_emb, dtype=dtype)
    n, m = len(images), len(texts)
    matched = _cosines(texts, images[t2i])
    rng = np.random.default_rng(random_seed)
    partners = _other_index(rng, t2i, n) if n > 1 else t2i
    random = _cosines(texts, images[partners])
    count = np.bincount(t2i, minlength=n).astype(np.float64)
    # per-image sums of caption embeddings (every image has a caption: check_embeddings made sure)
    order = np.argsort(t2i, kind="stable")
    text_sum = np.add.reduceat(texts[order], np.concatenate([[0], np.cumsum(count[:-1]).astype(np.int64)]), axis=0)
    values = _summarise(
        images,
        text_sum,
        count,
        np.bincount(t2i, weights=matched, minlength=n),
        np.bincount(t2i, weights=random, minlength=n),
        None,
        boot,
    )
    protocol = {
        "variant": "captions (retrieval set)",
        "source": "Liang et al. 2022, Mind the Gap (Weixin-Liang/Modality-Gap: gap distance = "
        "||mean(text) - mean(image)||)",
        "embeddings": "L2-normalised image and caption embeddings",
        "centroids": "mean over every image; mean over every caption",
        "matched_pairs": "each caption with its image",
        "random_pairs": "each caption with one image drawn uniformly from the other images "
        f"(numpy default_rng({random_seed}))"
        if n > 1
        else "none: a single image",
        "random_seed": random_seed,
        "n_images": n,
        "n_texts": m,
        "bootstrap": {**boot, "unit": "images, each with all its captions (cluster bootstrap)"},
    }
    per_sample = {
        "images": {"matched_cosine": np.bincount(t2i, weights=matched, minlength=n) / count},
        "captions": {"cosine": matched},
    }
    return values, protocol, per_sample


def modality_gap_classification(
    image_emb: np.ndarray,
    head: np.ndarray,
    labels: np.ndarray | Sequence[int],
    boot: dict[str, Any] | None = None,
    random_seed: int = DEFAULT_RANDOM_SEED,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The gap between images and the text-head rows of the classes (a zero-shot classifier's prompts).

    Args:
        image_emb: ``(N, D)`` L2-normalised image embeddings.
        head: ``(C, D)`` L2-normalised class embeddings (the text head over the label space).
        labels: ``(N,)`` the class of each image (row of ``head``).
        boot: bootstrap settings (``n_boot=0``: none).
        random_seed: seed of the random pairs (each image with a class row drawn uniformly from the others).

    Returns:
        ``(values, protocol, per_sample)``; per-sample column ``{"images": {"matched_cosine"}}``: the cosine
        of an image with its class row.

    Example:
        >>> head = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> values, protocol, per_sample = modality_gap_classification(head[[0, 0, 1]], head, [0, 0, 1])
        >>> round(values[0].value, 4), per_sample["images"]["matched_cosine"].tolist()  # ||(2/3,1/3)-(1/2,1/2)||
        (0.2357, [1.0, 1.0, 1.0])

    """
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    dtype = np.result_type(np.asarray(image_emb).dtype, np.asarray(head).dtype, np.float32)
    images = np.asarray(image_emb, dtype=dtype)
    rows = np.asarray(head, dtype=dtype)
    y = np.asarray(labels)
    if images.ndim != 2 or rows.ndim != 2 or images.shape[1] != rows.shape[1] or len(images) == 0 or len(rows) == 0:
        raise ValueError(f"embeddings must be (N, D) and (C, D), got {images.shape} and {rows.shape}")
    if y.shape != (len(images),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= len(rows):
        raise ValueError(f"labels must be {len(images)} class indices in 0..{len(rows) - 1}")
    for name, emb in (("image", images), ("head", rows)):
        if not np.isfinite(emb).all() or np.abs(np.linalg.norm(emb, axis=1) - 1).max() > NORM_TOLERANCE:
            raise ValueError(f"{name} embeddings must be finite and L2-normalised")
    n, c = len(images), len(rows)
    matched = _cosines(images, rows[y])
    rng = np.random.default_rng(random_seed)
    random = _cosines(images, rows[_other_index(rng, y, c)]) if c > 1 else np.full(n, np.nan)
    centroid = rows.astype(np.float64).mean(axis=0)
    values = _summarise(images, None, np.ones(n), matched, random, centroid, boot)
    protocol = {
        "variant": "classification (images vs text-head rows)",
        "source": "Liang et al. 2022, Mind the Gap (Weixin-Liang/Modality-Gap: gap distance = "
        "||mean(text) - mean(image)||)",
        "embeddings": "L2-normalised image embeddings and text-head rows (the label space's class embeddings)",
        "centroids": "mean over every image; mean over the class rows, each once",
        "matched_pairs": "each image with its class row",
        "random_pairs": "each image with one class row drawn uniformly from the other classes "
        f"(numpy default_rng({random_seed}))"
        if c > 1
        else "none: a single class",
        "random_seed": random_seed,
        "n_images": n,
        "n_classes": c,
        "bootstrap": {**boot, "unit": "images (the class rows stay fixed: they are not samples)"},
    }
    return values, protocol, {"images": {"matched_cosine": matched}}


__all__ = ["DEFAULT_RANDOM_SEED", "modality_gap", "modality_gap_classification"]
