"""Retrieval recalls: hand-built score matrices (5 captions per image, ties), CLIP_benchmark's own recall_at_k on
random data, chunked against unchunked, the cluster bootstrap, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from zeroshift.metrics.retrieval import retrieval_metrics, retrieval_ranks


def embed_scores(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit image and caption vectors whose dot products are exactly ``scores`` (captions x images).

    Images are the first N axes; caption t is ``sum_j scores[t, j] e_j`` plus the rest of its unit length on an
    axis of its own. Scores in eighths are exact in float64, so ties are exact.
    """
    m, n = scores.shape
    images = np.eye(n, n + m)
    texts = np.zeros((m, n + m))
    texts[:, :n] = scores
    texts[np.arange(m), n + np.arange(m)] = np.sqrt(1 - (scores**2).sum(axis=1))
    return images, texts


# 3 images x 5 captions each; rows are captions (t0..t14), columns images; values in eighths.
HAND = (
    np.array(
        [
            [4, 1, 1], [2, 3, 1], [1, 2, 3], [2, 2, 1], [1, 1, 1],  # captions of image 0
            [2, 2, 0], [1, 3, 0], [3, 1, 2], [0, 0, 0], [3, 2, 0],  # captions of image 1
            [0, 0, 4], [1, 2, 0], [1, 0, 1], [0, 1, 2], [2, 2, 2],  # captions of image 2
        ],
        dtype=np.float64,
    )
    / 8
)  # fmt: skip
HAND_T2I = np.repeat(np.arange(3), 5)


def test_hand_built_ranks_and_recalls_with_ties():
    images, texts = embed_scores(HAND)
    values, protocol, per_sample = retrieval_metrics(images, texts, HAND_T2I, boot={"n_boot": 0})
    # text -> image, worked by hand: rank = images scoring higher + equal ones at a lower index, plus one
    #   t0 first; t1 behind image 1; t2 last; t3 ties image 1 (higher index): first; t4 all tie, image 0 first
    #   t5 ties image 0 (lower index): second; t6 first; t7 last; t8 all tie: behind image 0; t9 behind image 0
    #   t10 first; t11 last; t12 ties image 0: second; t13 first; t14 all tie: behind images 0 and 1
    assert per_sample["captions"]["t2i_rank"].tolist() == [1, 2, 3, 1, 1, 2, 1, 3, 2, 2, 1, 3, 2, 1, 3]
    # image -> text (columns): image 0's best caption t0 (4/8) is the column maximum; image 1's best caption t6
    # (3/8) ties t1 (a caption of image 0, lower index): second; image 2's t10 (4/8) is the column maximum
    assert per_sample["images"]["i2t_rank"].tolist() == [1, 2, 1]
    got = {v.name: v.value for v in values}
    assert got["t2i_r1"] == pytest.approx(6 / 15)
    assert got["t2i_r5"] == got["t2i_r10"] == 1.0
    assert got["i2t_r1"] == pytest.approx(2 / 3)
    assert got["i2t_r5"] == got["i2t_r10"] == 1.0
    assert got["mean_recall"] == pytest.approx((6 / 15 + 1 + 1 + 2 / 3 + 1 + 1) / 6)
    # ties of a positive with a negative: t3, t4, t5, t8, t12, t14 (t->i); image 1 (i->t)
    assert protocol["tied_queries"] == {"image_to_text": 1, "text_to_image": 6}


def test_any_caption_is_a_hit_for_image_to_text():
    # image 0 has five captions; only its last one is close to it, the other four rank below every caption of image 1
    scores = np.array([[1, 6]] * 4 + [[7, 0]] + [[0, 5]] * 5, dtype=np.float64) / 8
    images, texts = embed_scores(scores)
    values, _, per_sample = retrieval_metrics(images, texts, np.repeat([0, 1], 5), ks=(1,), boot={"n_boot": 0})
    # image 0: its fifth caption (7/8) tops its column; image 1: its captions (5/8) sit behind the four 6/8 of image 0
    assert per_sample["images"]["i2t_rank"].tolist() == [1, 5]
    assert {v.name: v.value for v in values}["i2t_r1"] == 0.5


def clip_benchmark_recalls(images: np.ndarray, texts: np.ndarray, t2i: np.ndarray, ks, batch_size: int) -> dict:
    """CLIP_benchmark 1.6.2's own recall_at_k, called on the score matrix exactly as its evaluate() does."""
    torch = pytest.importorskip("torch")
    zr = pytest.importorskip("clip_benchmark.metrics.zeroshot_retrieval", reason="clip-benchmark is a test dependency")
    scores = torch.from_numpy(texts).float() @ torch.from_numpy(images).float().t()
    positive = torch.zeros_like(scores, dtype=bool)
    positive[torch.arange(len(scores)), torch.from_numpy(t2i)] = True
    out = {}
    for k in ks:
        out[f"t2i_r{k}"] = (
            (zr.batchify(zr.recall_at_k, scores, positive, batch_size, "cpu", k=k) > 0).float().mean().item()
        )
        out[f"i2t_r{k}"] = (
            (zr.batchify(zr.recall_at_k, scores.T, positive.T, batch_size, "cpu", k=k) > 0).float().mean().item()
        )
    return out


def test_equals_clip_benchmark_recall_at_k_on_random_embeddings():
    rng = np.random.default_rng(3)
    for n, per_image, dim in ((40, 5, 16), (25, 3, 8), (60, 1, 32)):
        images = rng.normal(size=(n, dim)).astype(np.float32)
        images /= np.linalg.norm(images, axis=1, keepdims=True)
        t2i = rng.permutation(np.repeat(np.arange(n), per_image))  # captions in any order
        texts = images[t2i] + 0.9 * rng.normal(size=(len(t2i), dim)).astype(np.float32)
        texts /= np.linalg.norm(texts, axis=1, keepdims=True)
        values, protocol, _ = retrieval_metrics(images, texts, t2i, boot={"n_boot": 0})
        assert protocol["tied_queries"] == {"image_to_text": 0, "text_to_image": 0}
        theirs = clip_benchmark_recalls(images, texts, t2i, (1, 5, 10), batch_size=16)
        ours = {v.name: v.value for v in values if v.name != "mean_recall"}
        assert set(ours) == set(theirs)
        for name, value in theirs.items():
            assert ours[name] == pytest.approx(value, abs=1e-6), name  # theirs is a float32 mean
        assert 0 < ours["i2t_r1"] < 1 and 0 < ours["t2i_r5"] < 1  # not a degenerate case


def test_chunked_equals_unchunked_with_duplicates():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(50, 12))
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    t2i = np.repeat(np.arange(50), 5)
    texts = images[t2i] + rng.normal(size=(250, 12))
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    texts[7] = texts[3 * 5 + 1]  # a duplicate caption of another image: exact ties across blocks
    images[40] = images[2]  # a duplicate image
    whole = retrieval_ranks(images, texts, t2i, max_block_bytes=1 << 30)
    for block_bytes in (1, 8 * 250 * 3, 8 * 50 * 7):
        parts = retrieval_ranks(images, texts, t2i, max_block_bytes=block_bytes)
        assert np.array_equal(parts[0], whole[0]) and np.array_equal(parts[1], whole[1])
        assert parts[2]["tied_queries"] == whole[2]["tied_queries"]
    assert parts[2]["block_rows"] == {"image_to_text": 1, "text_to_image": 7}  # 2800 bytes: 1 x 250, 7 x 50 float64
    assert whole[2]["block_rows"] == {"image_to_text": 50, "text_to_image": 250}
    assert whole[2]["tied_queries"]["text_to_image"] >= 5  # the captions of images 2 and 40 tie


def test_bootstrap_resamples_images_with_all_their_captions():
    rng = np.random.default_rng(1)
    n = 30
    images = rng.normal(size=(n, 6))
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    counts = rng.integers(1, 6, size=n)  # uneven numbers of captions make the cluster bootstrap differ
    t2i = np.repeat(np.arange(n), counts)
    texts = images[t2i] + rng.normal(size=(len(t2i), 6))
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    boot = {"n_boot": 400, "seed": 5, "alpha": 0.1}
    values, protocol, per_sample = retrieval_metrics(images, texts, t2i, ks=(1, 5), boot=boot)
    got = {v.name: v for v in values}
    # the documented protocol, written out: draw n images with replacement per replicate, pool their captions
    draws = np.random.default_rng(5).integers(0, n, size=(400, n))
    hits = per_sample["captions"]["t2i_rank"] <= 5
    per_image_hits = np.bincount(t2i, weights=hits, minlength=n)
    ratios = per_image_hits[draws].sum(axis=1) / counts[draws].sum(axis=1)
    assert got["t2i_r5"].value == pytest.approx(hits.mean())
    assert (got["t2i_r5"].ci_low, got["t2i_r5"].ci_high) == pytest.approx(tuple(np.quantile(ratios, [0.05, 0.95])))
    i2t = per_sample["images"]["i2t_rank"] <= 1
    means = i2t[draws].mean(axis=1)
    assert (got["i2t_r1"].ci_low, got["i2t_r1"].ci_high) == pytest.approx(tuple(np.quantile(means, [0.05, 0.95])))
    assert got["mean_recall"].ci_low <= got["mean_recall"].value <= got["mean_recall"].ci_high
    assert "cluster" in protocol["bootstrap"]["unit"]


def test_float16_cached_rows_are_accepted_and_recorded():
    rng = np.random.default_rng(2)
    images = rng.normal(size=(10, 8))
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    texts = images[np.repeat(np.arange(10), 2)]
    values, protocol, _ = retrieval_metrics(
        images.astype(np.float16), texts.astype(np.float16), np.repeat(np.arange(10), 2)
    )
    assert protocol["blocks"]["dtype"] == "float32"
    assert {v.name: v.value for v in values}["i2t_r1"] == 1.0


@pytest.mark.parametrize(
    ("images", "texts", "t2i", "message"),
    [
        (np.eye(2), np.eye(3), [0, 1, 1], "must be (N, D) and (M, D)"),
        (np.eye(2), np.eye(2) * 3, [0, 1], "text embeddings must be L2-normalised"),
        (np.eye(2), np.eye(2), [0, 2], "outside 0..1"),
        (np.eye(2), np.eye(2), [0.0, 1.0], "must be 2 integers"),
        (np.eye(3), np.eye(3)[:2], [0, 2], "image 1 has no caption"),
        (np.eye(2), np.array([[np.nan, 0.0], [0.0, 1.0]]), [0, 1], "NaN or infinity"),
    ],
)
def test_bad_input_is_one_line(images, texts, t2i, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        retrieval_metrics(images, texts, np.asarray(t2i), boot={"n_boot": 0})


def test_bad_cutoffs():
    with pytest.raises(ValueError, match="positive integers"):
        retrieval_metrics(np.eye(2), np.eye(2), np.array([0, 1]), ks=(0, 5))
