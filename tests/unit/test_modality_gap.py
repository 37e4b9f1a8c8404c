"""Modality gap: zero for equal embeddings, hand-computed cases, Liang et al.'s formula, intervals, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zeroshift.metrics.modality_gap import modality_gap, modality_gap_classification


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def by_name(values) -> dict:
    return {v.name: v for v in values}


def test_equal_image_and_text_embeddings_have_no_gap():
    rng = np.random.default_rng(0)
    images = unit(rng.normal(size=(40, 16))).astype(np.float32)
    t2i = np.repeat(np.arange(40), 5)
    values, _, per_sample = modality_gap(images, images[t2i], t2i, boot={"n_boot": 50})
    got = by_name(values)
    assert got["gap_distance"].value == pytest.approx(0.0, abs=1e-6)
    assert got["centroid_cosine"].value == pytest.approx(1.0, abs=1e-6)
    assert got["matched_cosine"].value == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(per_sample["captions"]["cosine"], 1.0, atol=1e-6)
    assert got["gap_distance"].ci_high == pytest.approx(0.0, abs=1e-6)  # every resample keeps the pairs together


def test_hand_computed_captions_case():
    # images e0, e1; captions: e2 (of image 0), e0 and e1 (of image 1)
    images = np.eye(3)[:2]
    texts = np.eye(3)[[2, 0, 1]]
    values, protocol, per_sample = modality_gap(images, texts, [0, 1, 1], boot={"n_boot": 0})
    got = by_name(values)
    # centroids (1/2, 1/2, 0) and (1/3, 1/3, 1/3): difference (1/6, 1/6, -1/3)
    assert got["gap_distance"].value == pytest.approx(math.sqrt(2 / 36 + 4 / 36))
    assert got["centroid_cosine"].value == pytest.approx((1 / 3) / (math.sqrt(1 / 2) * math.sqrt(1 / 3)))
    assert got["matched_cosine"].value == pytest.approx(1 / 3)  # e2.e0 = 0, e0.e1 = 0, e1.e1 = 1
    # with two images, each caption's random partner is the other image: e2.e1 = 0, e0.e0 = 1, e1.e0 = 0
    assert got["random_cosine"].value == pytest.approx(1 / 3)
    assert per_sample["images"]["matched_cosine"].tolist() == pytest.approx([0.0, 0.5])
    assert protocol["random_seed"] == 0 and protocol["n_texts"] == 3
    assert math.isnan(got["gap_distance"].ci_low)  # n_boot=0: no interval


def test_gap_distance_equals_liang_et_al_formula():
    """Test-only port of ``Weixin-Liang/Modality-Gap`` ``move_features`` (delta = 0): the gap distance is
    ``(text_features.mean(axis=0) - image_features.mean(axis=0)).norm()`` on normalised torch features."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    images = unit(rng.normal(size=(30, 8)) + 2.0)  # a cone, as CLIP embeddings are
    t2i = np.repeat(np.arange(30), 4)
    texts = unit(images[t2i] + rng.normal(size=(120, 8)) - 1.0)
    image_features = torch.from_numpy(images)
    text_features = torch.from_numpy(texts)
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    theirs = (text_features.mean(axis=0) - image_features.mean(axis=0)).norm().item()
    got = by_name(modality_gap(images, texts, t2i, boot={"n_boot": 0})[0])
    assert theirs > 0.3
    assert got["gap_distance"].value == pytest.approx(theirs, rel=1e-12)
    cos = torch.nn.functional.cosine_similarity(text_features.mean(0), image_features.mean(0), dim=0).item()
    assert got["centroid_cosine"].value == pytest.approx(cos, rel=1e-12)


def test_random_pairs_are_seeded_and_never_matched():
    rng = np.random.default_rng(5)
    images = unit(rng.normal(size=(12, 6)))
    t2i = np.repeat(np.arange(12), 3)
    texts = images[t2i]  # a caption equals its image: a random partner that were its own image would give cosine 1
    a = by_name(modality_gap(images, texts, t2i, boot={"n_boot": 0}, random_seed=1)[0])["random_cosine"].value
    b = by_name(modality_gap(images, texts, t2i, boot={"n_boot": 0}, random_seed=1)[0])["random_cosine"].value
    c = by_name(modality_gap(images, texts, t2i, boot={"n_boot": 0}, random_seed=2)[0])["random_cosine"].value
    assert a == b != c
    offdiag = images @ images.T
    assert offdiag[~np.eye(12, dtype=bool)].min() <= a <= offdiag[~np.eye(12, dtype=bool)].max() < 1


def test_matched_cosine_interval_is_the_cluster_bootstrap():
    rng = np.random.default_rng(6)
    n = 25
    images = unit(rng.normal(size=(n, 5)))
    counts = rng.integers(1, 5, size=n)
    t2i = np.repeat(np.arange(n), counts)
    texts = unit(images[t2i] + rng.normal(size=(len(t2i), 5)))
    values, _, per_sample = modality_gap(images, texts, t2i, boot={"n_boot": 300, "seed": 9, "alpha": 0.1})
    got = by_name(values)
    draws = np.random.default_rng(9).integers(0, n, size=(300, n))  # n images per replicate, with their captions
    sums = np.bincount(t2i, weights=per_sample["captions"]["cosine"], minlength=n)
    ratios = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.quantile(ratios, [0.05, 0.95])
    assert (got["matched_cosine"].ci_low, got["matched_cosine"].ci_high) == pytest.approx((lo, hi), rel=1e-5)
    centroid_gaps = [
        np.linalg.norm(images[d].mean(0) - texts[np.concatenate([np.flatnonzero(t2i == i) for i in d])].mean(0))
        for d in draws[:300]
    ]
    expected = tuple(np.quantile(centroid_gaps, [0.05, 0.95]))
    assert (got["gap_distance"].ci_low, got["gap_distance"].ci_high) == pytest.approx(expected, rel=1e-5)


def test_classification_variant_hand_computed():
    head = np.eye(2)
    images = head[[0, 0, 1]]
    values, protocol, per_sample = modality_gap_classification(images, head, np.array([0, 0, 1]), boot={"n_boot": 0})
    got = by_name(values)
    # image centroid (2/3, 1/3); text centroid over the class rows, each once: (1/2, 1/2)
    assert got["gap_distance"].value == pytest.approx(math.sqrt(2) / 6)
    assert got["matched_cosine"].value == pytest.approx(1.0)
    assert got["random_cosine"].value == pytest.approx(0.0)  # each image with the other class row
    assert per_sample["images"]["matched_cosine"].tolist() == [1.0, 1.0, 1.0]
    assert "each once" in protocol["centroids"]


def test_classification_interval_keeps_the_class_rows_fixed():
    rng = np.random.default_rng(7)
    head = unit(rng.normal(size=(4, 6)))
    labels = rng.integers(0, 4, size=40)
    images = unit(head[labels] + rng.normal(size=(40, 6)))
    got = by_name(modality_gap_classification(images, head, labels, boot={"n_boot": 200, "seed": 3})[0])
    draws = np.random.default_rng(3).integers(0, 40, size=(200, 40))
    gaps = [np.linalg.norm(images[d].mean(0) - head.mean(0)) for d in draws]
    assert (got["gap_distance"].ci_low, got["gap_distance"].ci_high) == pytest.approx(
        tuple(np.quantile(gaps, [0.025, 0.975])), rel=1e-5
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: modality_gap(np.eye(2), np.eye(2) * 2, [0, 1]), "L2-normalised"),
        (lambda: modality_gap(np.eye(3), np.eye(3)[:2], [0, 1]), "image 2 has no caption"),
        (lambda: modality_gap_classification(np.eye(2), np.eye(2), [0, 2]), "class indices in 0..1"),
        (lambda: modality_gap_classification(np.eye(2), np.eye(3), [0, 1]), "must be"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
