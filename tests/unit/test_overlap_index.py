"""OverlapIndex: the same neighbours and flags as brute-force numpy, resumable builds, manifests, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.overlap_helpers import ThumbEmbedder, jpeg_bytes, noise_images, write_shards
from zeroshift.errors import DatasetError, UsageError
from zeroshift.overlap import index as index_module
from zeroshift.overlap.checks import FlagRule, overlap_check
from zeroshift.overlap.corpus import ArrayCorpus, FolderCorpus, WebDatasetCorpus
from zeroshift.overlap.features import ModelRef
from zeroshift.overlap.index import OverlapIndex, build_index, plan_index

MODEL = ModelRef("test:vectors", "fp-vectors")


def _planted(n=3000, dim=32, n_queries=400, seed=0):
    """Random unit corpus rows; queries: half noisy copies of corpus rows (cosine ~0.97), half fresh rows."""
    rng = np.random.default_rng(seed)
    corpus = rng.normal(size=(n, dim)).astype(np.float32)
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    src = rng.choice(n, n_queries // 2, replace=False)
    copies = corpus[src] + rng.normal(scale=0.25 / np.sqrt(dim), size=(len(src), dim)).astype(np.float32)
    fresh = rng.normal(size=(n_queries - len(src), dim)).astype(np.float32)
    return corpus, np.concatenate([copies, fresh]), src


def _brute(corpus, queries, k):
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ corpus.T
    ids = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, ids, axis=1), ids


def test_flat_index_matches_bruteforce_numpy(tmp_path):
    corpus, queries, _ = _planted()
    index = build_index(tmp_path / "idx", ArrayCorpus(corpus, MODEL, name="planted"), chunk_size=700)
    assert index.plan.type == "flat"
    cos, ids = index.search(queries, k=5)
    ref_cos, ref_ids = _brute(corpus, queries, 5)
    np.testing.assert_allclose(cos, ref_cos, atol=1e-5)
    assert (ids == ref_ids).mean() > 0.999  # ties aside, the same neighbours in the same order
    # flags from the check equal the rule applied to numpy's top-1 cosines
    rule = FlagRule(0.9)
    _, _, rows = overlap_check(index, queries, [f"q{i}" for i in range(len(queries))], MODEL, k=3, rule=rule,
                               boot={"n_boot": 50})  # fmt: skip
    assert rows["overlap"] == (ref_cos[:, 0] >= 0.9).tolist()
    assert sum(rows["overlap"]) == len(queries) // 2  # every planted copy, no fresh row
    assert rows["nn_key"][:3] == [str(i) for i in ref_ids[:3, 0]]


@pytest.mark.parametrize("kind", ["ivfpq", "hnsw"])
def test_approximate_indexes_give_exact_cosines_and_the_same_flags(tmp_path, kind):
    corpus, queries, src = _planted(n=5000, dim=32)
    index = build_index(tmp_path / kind, ArrayCorpus(corpus, MODEL, name="planted"), kind=kind, chunk_size=2048)
    assert index.plan.type == kind and index.plan.approximate
    cos, ids = index.search(queries, k=3)
    ref_cos, ref_ids = _brute(corpus, queries, 1)
    # every planted copy finds its source; the reported cosine is the exact one (re-ranked from stored rows)
    assert (ids[: len(src), 0] == src).all()
    exact = np.einsum("ij,ij->i", queries / np.linalg.norm(queries, axis=1, keepdims=True), corpus[ids[:, 0]])
    np.testing.assert_allclose(cos[:, 0], exact, atol=1e-5)
    assert ((cos[:, 0] >= 0.9) == (ref_cos[:, 0] >= 0.9)).all()
    if kind == "ivfpq":
        params = index.manifest["index"]["params"]
        assert index.manifest["index"]["factory"] == f"IVF{params['nlist']},PQ{params['pq_m']}"
        # 4 sqrt(N) = 283 cells, capped at N // 39 = 128 so that k-means has 39 rows a centroid
        assert params["nlist"] == min(round(4 * np.sqrt(5000)), 5000 // 39) and params["pq_m"] == 8


def test_auto_plan_switches_to_ivfpq_above_the_exact_limit(tmp_path):
    corpus, _, _ = _planted(n=2000, dim=16)
    index = build_index(tmp_path / "i", ArrayCorpus(corpus, MODEL, name="x"), exact_limit=1000)
    assert index.plan.type == "ivfpq" and index.manifest["requested"] == {"kind": "auto", "exact_limit": 1000}
    assert plan_index(1000, 16, exact_limit=1000).type == "flat"
    with pytest.raises(UsageError, match="unknown index kind"):
        plan_index(10, 16, kind="lsh")


def _image_folder(tmp_path, n=23, bad=("x.jpg",)):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, image in enumerate(noise_images(n, seed=3)):
        image.save(folder / f"{i:03d}.png")
    for name in bad:
        (folder / name).write_bytes(b"not an image")
    return folder


def test_interrupted_build_resumes_without_re_encoding(tmp_path):
    folder = _image_folder(tmp_path, n=23)
    corpus = FolderCorpus(folder)  # 24 files: 23 images + 1 unreadable, chunks of 5 -> 5 chunks
    first = ThumbEmbedder(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        build_index(tmp_path / "idx", corpus, first, chunk_size=5)
    assert first.calls == 2
    with pytest.raises(UsageError, match="unfinished index build .*run the same"):
        OverlapIndex.open(tmp_path / "idx")
    second = ThumbEmbedder()
    resumed = build_index(tmp_path / "idx", FolderCorpus(folder), second, chunk_size=5)
    assert second.calls == 3  # the 3 chunks the interrupted build had not written
    assert second.images + first.images == 23  # no image embedded twice
    assert resumed.manifest["resumed"] == 1
    fresh = build_index(tmp_path / "fresh", FolderCorpus(folder), ThumbEmbedder(), chunk_size=5)
    assert resumed.keys == fresh.keys
    np.testing.assert_array_equal(np.asarray(resumed.vectors), np.asarray(fresh.vectors))
    np.testing.assert_array_equal(resumed.phashes, fresh.phashes)
    assert not (tmp_path / "idx" / "chunks").exists()
    # a finished build is reopened, not rebuilt
    third = ThumbEmbedder()
    build_index(tmp_path / "idx", FolderCorpus(folder), third, chunk_size=5)
    assert third.calls == 0


def test_a_chunk_whose_bytes_do_not_match_its_sidecar_is_redone(tmp_path):
    folder = _image_folder(tmp_path, n=15, bad=())
    with pytest.raises(KeyboardInterrupt):  # chunks 0 and 1 written, interrupted in chunk 2
        build_index(tmp_path / "idx", FolderCorpus(folder), ThumbEmbedder(fail_after=2), chunk_size=5)
    chunk = tmp_path / "idx" / "chunks" / "000001.npy"
    chunk.write_bytes(chunk.read_bytes()[:-8])  # a torn write
    again = ThumbEmbedder()
    build_index(tmp_path / "idx", FolderCorpus(folder), again, chunk_size=5)
    assert again.calls == 2  # the torn chunk 1 and the missing chunk 2; chunk 0 is reused


def test_manifest_records_model_corpus_counts_and_plan(tmp_path, monkeypatch):
    folder = _image_folder(tmp_path, n=12, bad=("bad.jpg", "empty.png"))
    (folder / "empty.png").write_bytes(b"")
    monkeypatch.setattr(index_module, "INLINE_KEYS", 5)
    index = build_index(tmp_path / "idx", FolderCorpus(folder), ThumbEmbedder(), chunk_size=4)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["model"] == {
        "spec": "test:thumb8",
        "fingerprint": "fp-test:thumb8",
    }
    assert manifest["corpus"]["kind"] == "folder" and manifest["corpus"]["n"] == 14
    assert manifest["counts"] == {"samples": 14, "embedded": 12, "failed": 2,
                                  "failed_by_reason": {"not an image": 1, "empty file": 1}}  # fmt: skip
    assert manifest["index"]["type"] == "flat" and manifest["dim"] == 192
    assert manifest["keys_file"] == "keys.json" and "keys" not in manifest
    assert json.loads((tmp_path / "idx" / "failures.json").read_text()) == {"bad.jpg": "not an image",
                                                                             "empty.png": "empty file"}  # fmt: skip
    assert index.keys == [f"{i:03d}.png" for i in range(12)]
    assert manifest["phash_protocol"]["bits"] == 64


def test_shards_with_unreadable_images_are_counted_and_skipped(tmp_path):
    import webdataset as wds

    images = noise_images(6, seed=4)
    write_shards(tmp_path / "s", images[:4], per_shard=4)
    with wds.TarWriter(str(tmp_path / "s" / "00001.tar")) as sink:
        sink.write({"__key__": "000010000", "jpg": b"\xff\xd8 garbage", "txt": "x"})
        sink.write({"__key__": "000010001", "jpg": jpeg_bytes(images[4]), "txt": "y"})
        sink.write({"__key__": "000010002", "txt": "caption only"})
    index = build_index(tmp_path / "idx", WebDatasetCorpus(tmp_path / "s"), ThumbEmbedder(), chunk_size=3)
    counts = index.manifest["counts"]
    assert counts["samples"] == 7 and counts["embedded"] == 5
    assert counts["failed_by_reason"] == {"not an image": 1, "no image member": 1}
    assert "000010000" not in index.keys and "000010001" in index.keys


def test_index_built_with_another_model_is_refused_naming_both(tmp_path):
    corpus, queries, _ = _planted(n=200)
    index = build_index(tmp_path / "idx", ArrayCorpus(corpus, MODEL, name="x"))
    other = ModelRef("zoo:other", "fp-other")
    with pytest.raises(UsageError) as err:
        overlap_check(index, queries, [str(i) for i in range(len(queries))], other)
    message = str(err.value)
    assert "test:vectors" in message and "zoo:other" in message and "\n" not in message
    # building another model's features into the same folder is refused too
    with pytest.raises(UsageError, match="holds an index of features of test:vectors"):
        build_index(tmp_path / "idx", ArrayCorpus(corpus, other, name="x"))


def test_bad_input_empty_and_all_unreadable(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="holds no samples"):
        build_index(tmp_path / "i1", FolderCorpus(empty), ThumbEmbedder())
    junk = tmp_path / "junk"
    junk.mkdir()
    for name in ("a.jpg", "b.png"):
        (junk / name).write_bytes(b"nope")
    with pytest.raises(DatasetError, match=r"could be embedded \(2 not an image\)"):
        build_index(tmp_path / "i2", FolderCorpus(junk), ThumbEmbedder())
    with pytest.raises(UsageError, match="needs an image embedder"):
        build_index(tmp_path / "i3", FolderCorpus(_image_folder(tmp_path, n=2, bad=())), None)
    with pytest.raises(UsageError, match="holds no overlap index"):
        OverlapIndex.open(tmp_path / "nowhere")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty and holds no overlap index"):
        build_index(tmp_path / "busy", ArrayCorpus(np.eye(3), MODEL))
    index = build_index(tmp_path / "i4", ArrayCorpus(np.eye(3), MODEL))
    with pytest.raises(UsageError, match="queries have 4 dimensions, the index 3"):
        index.search(np.ones((1, 4)))


def test_query_beyond_the_index_size_and_zero_rows(tmp_path):
    index = build_index(tmp_path / "i", ArrayCorpus(np.eye(3), MODEL))
    cos, keys = index.query(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), k=5)
    assert keys[0].tolist() == ["0", "1", "2", "", ""] or keys[0, 0] == "0"
    assert np.isnan(cos[0, 3:]).all() and keys[0, 3] == ""
    assert np.isnan(cos[1]).all() and (keys[1] == "").all()  # a zero query has no neighbour
