"""Corpus readers: image folders, webdataset shards (checked against webdataset's own reader), LAION-layout
embeddings (written with pyarrow), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.overlap_helpers import jpeg_bytes, noise_images, write_shards
from zeroshift.errors import DatasetError, UsageError
from zeroshift.overlap.corpus import (
    EmbeddingCorpus,
    FolderCorpus,
    WebDatasetCorpus,
    open_corpus,
)


def _wds_reference(paths):
    """Keys and image bytes of the shards as webdataset's own pipeline reads them."""
    import webdataset as wds

    ds = wds.WebDataset([str(p) for p in paths], shardshuffle=False, empty_check=False)
    return [(s["__key__"], s.get("jpg")) for s in ds]


def test_folder_corpus_is_recursive_sorted_and_reports_bad_files(tmp_path):
    images = noise_images(3)
    (tmp_path / "b" / "c").mkdir(parents=True)
    images[0].save(tmp_path / "b" / "c" / "z.png")
    images[1].save(tmp_path / "a.jpg")
    Image.fromarray(np.zeros((4, 4), np.uint8), "L").save(tmp_path / "grey.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"not an image")
    data = jpeg_bytes(images[2])
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / ".hidden.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    corpus = open_corpus(tmp_path)
    assert isinstance(corpus, FolderCorpus)
    assert corpus.keys() == ["a.jpg", "b/c/z.png", "cut.jpg", "empty.jpg", "grey.png", "text.jpg"]
    items = {it.key: it for it in corpus.items()}
    assert {k: it.error.reason for k, it in items.items() if it.error} == {
        "cut.jpg": "truncated",
        "empty.jpg": "empty file",
        "text.jpg": "not an image",
    }
    assert items["grey.png"].image.mode == "RGB" and items["grey.png"].note == "L->RGB"
    assert np.array_equal(np.asarray(items["b/c/z.png"].image), np.asarray(images[0]))
    # a range of positions reads only those samples, in order
    assert [it.key for it in corpus.items(1, 3)] == ["b/c/z.png", "cut.jpg"]
    # the corpus as an engine dataset: same ids, loads the same pixels, content keys change with the bytes
    data = corpus.as_dataset()
    assert data.sample_ids == corpus.keys() and (data.targets == -1).all()
    key = data.content_key(0)
    images[0].save(tmp_path / "a.jpg", quality=50)
    assert FolderCorpus(tmp_path).as_dataset().content_key(0) != key


def test_webdataset_corpus_matches_webdataset_reader(tmp_path):
    images = noise_images(7, seed=1)
    paths = write_shards(tmp_path / "shards", images, per_shard=3)
    corpus = open_corpus(tmp_path / "shards")
    assert isinstance(corpus, WebDatasetCorpus) and len(corpus.shards) == 3
    reference = _wds_reference(paths)
    assert corpus.keys() == [k for k, _ in reference]
    assert corpus.keys()[:4] == ["000000000", "000000001", "000000002", "000010000"]
    for item, (_, data) in zip(corpus.items(), reference, strict=True):
        expected = Image.open(__import__("io").BytesIO(data)).convert("RGB")
        assert np.array_equal(np.asarray(item.image), np.asarray(expected))
    # a brace pattern names the same shards; positions decode on their own (random access by member offset)
    pattern = open_corpus(str(tmp_path / "shards" / "{00000..00002}.tar"))
    assert pattern.keys() == corpus.keys()
    assert np.array_equal(np.asarray(pattern.load(5)[0]), np.asarray(corpus.load(5)[0]))


def test_webdataset_corpus_counts_unreadable_images_and_cut_shards(tmp_path):
    import webdataset as wds

    images = noise_images(4, seed=2)
    folder = tmp_path / "shards"
    write_shards(folder, images[:2], per_shard=2)
    with wds.TarWriter(str(folder / "00001.tar")) as sink:
        sink.write({"__key__": "000010000", "jpg": b"garbage bytes", "txt": "x"})
        sink.write({"__key__": "000010001", "txt": "a caption without an image"})
        sink.write({"__key__": "000010002", "jpg": jpeg_bytes(images[2])[:200], "txt": "cut"})
        sink.write({"__key__": "000010003", "jpg": jpeg_bytes(images[3]), "txt": "fine"})
    cut = folder / "00002.tar"
    write_shards(tmp_path / "tmp", images[:3], per_shard=3, start_key=20000)
    data = (tmp_path / "tmp" / "00000.tar").read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # a shard cut mid-way (an interrupted download)
    corpus = WebDatasetCorpus(folder)
    reasons = {it.key: (it.error.reason if it.error else "ok") for it in corpus.items()}
    assert reasons["000000000"] == reasons["000000001"] == reasons["000010003"] == "ok"
    assert reasons["000010000"] == "not an image"
    assert reasons["000010001"] == "no image member"
    assert reasons["000010002"] == "truncated"
    assert str(cut) in corpus.shard_errors and "truncated shard" in corpus.shard_errors[str(cut)]
    # the cut shard keeps the samples before the cut, each decoding whole
    from_cut = [k for k in corpus.keys() if k.startswith("00002")]  # noqa: SIM118  (a Corpus is no mapping)
    assert 1 <= len(from_cut) < 3 and from_cut == ["000020000", "000020001", "000020002"][: len(from_cut)]
    assert all(reasons[k] == "ok" for k in from_cut[:-1])
    assert corpus.describe()["shard_errors"] == corpus.shard_errors


def test_webdataset_duplicate_keys_across_shards_are_refused(tmp_path):
    images = noise_images(2)
    write_shards(tmp_path / "a", images, per_shard=2)
    write_shards(tmp_path / "b", images, per_shard=2)
    with pytest.raises(DatasetError, match="appears in"):
        WebDatasetCorpus([tmp_path / "a" / "00000.tar", tmp_path / "b" / "00000.tar"])


def _write_embeddings(root, shards, dim=8, columns=("key", "url", "caption"), seed=0):
    rng = np.random.default_rng(seed)
    (root / "img_emb").mkdir(parents=True)
    (root / "metadata").mkdir()
    all_rows, all_keys = [], []
    for s, n in enumerate(shards):
        rows = rng.normal(size=(n, dim)).astype(np.float16)  # LAION ships float16
        keys = [f"{s:05d}{i:04d}" for i in range(n)]
        np.save(root / "img_emb" / f"img_emb_{s:04d}.npy", rows)
        table = {c: [f"{c}-{k}" if c != "key" else k for k in keys] for c in columns}
        pq.write_table(pa.table(table), root / "metadata" / f"metadata_{s:04d}.parquet")
        all_rows.append(rows.astype(np.float32))
        all_keys += keys
    return np.concatenate(all_rows), all_keys


def test_embedding_corpus_reads_laion_layout(tmp_path):
    rows, keys = _write_embeddings(tmp_path, [5, 3, 4])
    corpus = open_corpus(tmp_path, model="open_clip:ViT-B-32@openai")
    assert isinstance(corpus, EmbeddingCorpus) and not corpus.has_images
    assert corpus.keys() == keys and corpus.key_column == "key" and corpus.dim == 8
    assert np.array_equal(corpus.vectors(3, 10), rows[3:10])  # across shard boundaries
    assert corpus.describe()["declared_model"] == "open_clip:ViT-B-32@openai"


def test_embedding_corpus_key_column_fallback_and_errors(tmp_path):
    _write_embeddings(tmp_path / "a", [3], columns=("image_path", "caption"))
    assert EmbeddingCorpus(tmp_path / "a", "zoo:x").key_column == "image_path"
    _write_embeddings(tmp_path / "b", [3], columns=("caption",))
    with pytest.raises(DatasetError, match="no key column .*its columns: caption"):
        EmbeddingCorpus(tmp_path / "b", "zoo:x")
    with pytest.raises(UsageError, match="need the model that produced them"):
        EmbeddingCorpus(tmp_path / "a", None)
    _write_embeddings(tmp_path / "c", [3, 2])
    (tmp_path / "c" / "metadata" / "metadata_0001.parquet").unlink()
    with pytest.raises(DatasetError, match="img_emb_0001.npy has no partner"):
        EmbeddingCorpus(tmp_path / "c", "zoo:x")
    _write_embeddings(tmp_path / "d", [3])
    pq.write_table(pa.table({"key": ["a", "b"]}), tmp_path / "d" / "metadata" / "metadata_0000.parquet")
    with pytest.raises(DatasetError, match="has 2 rows but .* has 3 embeddings"):
        EmbeddingCorpus(tmp_path / "d", "zoo:x")


@pytest.mark.parametrize("layout", ["folder", "webdataset", "embeddings"])
def test_empty_corpus_is_one_clear_line(tmp_path, layout):
    import webdataset as wds

    root = tmp_path / "c"
    root.mkdir()
    if layout == "webdataset":
        with wds.TarWriter(str(root / "00000.tar")):
            pass
    elif layout == "embeddings":
        _write_embeddings(root, [0])
    else:
        (root / "sub").mkdir()
        (root / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError) as err:
        open_corpus(root, model="zoo:clip-cnn-diverse")
    message = str(err.value)
    assert "\n" not in message and "holds no samples; expected" in message


def test_missing_corpus_names_the_layouts(tmp_path):
    with pytest.raises(DatasetError, match="does not exist; expected one of"):
        open_corpus(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="unknown corpus kind"):
        open_corpus(tmp_path, kind="lmdb")
    assert json.loads(json.dumps(FolderCorpus(tmp_path).describe()))["n"] == 0
