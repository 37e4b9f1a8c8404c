"""Benchmarks read CLIP_benchmark webdataset releases and Hugging Face ``datasets`` folders like their folder layouts.

The releases are written in the test by the real tools from the shared photos: CLIP_benchmark's own exporter
(``clip_benchmark.webdataset_builder.convert_dataset`` over CLIP_benchmark's own ``build_dataset('imagenet-r')``,
which decides labels and ``classnames.txt``), webdataset's ``ShardWriter`` and ``datasets.save_to_disk``. Each
must give the same samples, targets and decoded pixels as the folder layout of the same photos.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from tests.helpers import build_wnid_layout, require_shared
from zeroshift.data import make_benchmark
from zeroshift.data.info import clip_classnames, imagenet_wnids, subset_wnids, wnid_index
from zeroshift.data.sources import SOURCES_FILE
from zeroshift.data.sources.hf_disk import HFRowsDataset
from zeroshift.data.sources.wds import ShardDataset
from zeroshift.engine.loader import PixelDataset, make_loader
from zeroshift.errors import BadImageError, DatasetError, SpecError


class _PathDataset(torch.utils.data.Dataset):
    """(file path, label) pairs with CLIP_benchmark's classes and templates, for its path_to_bytes export."""

    def __init__(self, built):
        self.samples, self.classes, self.templates = built.samples, built.classes, getattr(built, "templates", None)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


def export_clip_benchmark_wds(folder: Path, out: Path, image_format: str = "jpg", max_count: int = 150) -> None:
    """Export an ImageNet-R folder the way CLIP_benchmark made its releases (jpg: its fast file-copy path)."""
    from clip_benchmark import webdataset_builder
    from clip_benchmark.datasets.builder import build_dataset

    if image_format == "jpg":
        built = build_dataset("imagenet-r", root=str(folder), split="test", download=False)
        webdataset_builder.convert_dataset(
            _PathDataset(built), "test", str(out), transform=webdataset_builder.path_to_bytes, max_count=max_count
        )
    else:  # the published releases: PIL images re-encoded as lossless webp (clip_benchmark_export_wds)
        args = argparse.Namespace(
            dataset="imagenet-r", split="test", dataset_root=str(folder), output=str(out),
            image_format=image_format, max_count=max_count, max_size=10**9, retrieval=False, multilabel=False,
        )  # fmt: skip
        webdataset_builder.run(args)


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory) -> Path:
    """ImageNet-R (two files per class) and ImageNet-A (one per class) in their folder layouts."""
    require_shared("imagenet-samples")
    root = tmp_path_factory.mktemp("folders")
    build_wnid_layout(root / "imagenet-r", set(subset_wnids("imagenet_r")), per_class=2)
    build_wnid_layout(root / "imagenet-a", set(subset_wnids("imagenet_a")))
    return root


@pytest.fixture(scope="module")
def wds_root(folder_root, tmp_path_factory) -> Path:
    """A data root holding only CLIP_benchmark's webdataset export of the ImageNet-R folder, under its hub name."""
    root = tmp_path_factory.mktemp("shards")
    export_clip_benchmark_wds(folder_root / "imagenet-r", root / "wds_imagenet-r")
    return root


def pixels(dataset, i) -> np.ndarray:
    return np.asarray(dataset.load(i)[0])


def assert_same_samples(folder, other) -> None:
    assert len(other) == len(folder)
    assert other.classes == folder.classes
    np.testing.assert_array_equal(other.targets, folder.targets)
    # same class prefix, sample by sample: <wnid>/<file> in folders, <wnid>/<key or stored name> in releases
    assert [s.split("/")[0] for s in other.sample_ids] == [s.split("/")[0] for s in folder.sample_ids]
    for i in range(len(folder)):
        np.testing.assert_array_equal(pixels(other, i), pixels(folder, i), err_msg=other.sample_ids[i])


def test_clip_benchmark_wds_release_reads_like_the_folder(folder_root, wds_root):
    assert not (wds_root / "imagenet-r").exists()
    assert (wds_root / "wds_imagenet-r" / "test" / "nshards.txt").read_text().strip() == "3"
    folder = make_benchmark("imagenet_r", folder_root).dataset()
    bench = make_benchmark("imagenet_r", wds_root)
    shards = bench.dataset()
    assert isinstance(shards, ShardDataset) and not isinstance(folder, ShardDataset)
    assert_same_samples(folder, shards)
    # wnid of each sample from the photo's own file name, independently of both listings
    index = wnid_index()
    for sid, target, name in zip(shards.sample_ids, shards.targets, folder.sample_ids, strict=True):
        assert shards.classes[target] == name.split("/")[1].split("_")[0] == sid.split("/")[0]
        assert index[shards.classes[target]] in [index[w] for w in subset_wnids("imagenet_r")]
    source = bench.record["source"]
    assert source["kind"] == "wds" and source["shards"] == 3 and source["matched_by"] == "clip name, position"
    assert make_benchmark("imagenet_r", folder_root).record == {}  # the folder layout records no source


def test_loader_workers_read_shards_in_parallel(folder_root, wds_root):
    geometry = transforms.Compose([transforms.Resize(48), transforms.CenterCrop(48), transforms.PILToTensor()])
    folder = make_benchmark("imagenet_r", folder_root).dataset()
    shards = make_benchmark("imagenet_r", wds_root).dataset()
    picked = list(range(0, len(shards), 7))
    got = {}
    for name, ds in (("folder", folder), ("shards", shards)):
        batches = list(make_loader(PixelDataset(ds, picked, geometry), batch_size=16, workers=2))
        assert all(not b.failures for b in batches)
        got[name] = torch.cat([b.pixels for b in batches])
    assert torch.equal(got["folder"], got["shards"])
    assert shards._fds == {}  # the parent opened nothing: each worker opened its own descriptors


def test_limit_subset_keeps_locations(folder_root, wds_root):
    shards = make_benchmark("imagenet_r", wds_root).dataset()
    folder = make_benchmark("imagenet_r", folder_root).dataset()
    chosen = [399, 5, 200]
    sub = shards.subset(chosen)
    assert sub.sample_ids == [shards.sample_ids[i] for i in chosen]
    for j, i in enumerate(chosen):
        np.testing.assert_array_equal(pixels(sub, j), pixels(folder, i))


def test_content_keys_are_stable_and_follow_the_shard(wds_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(wds_root, root)
    keys = make_benchmark("imagenet_r", root).dataset().content_keys()
    assert keys == make_benchmark("imagenet_r", root).dataset().content_keys()
    assert len(set(keys)) == len(keys)
    shard = root / "wds_imagenet-r" / "test" / "1.tar"
    st = shard.stat()
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a re-downloaded shard
    after = make_benchmark("imagenet_r", root).dataset().content_keys()
    changed = [a != b for a, b in zip(keys, after, strict=True)]
    in_shard_1 = ["test/1.tar:" in k for k in keys]
    assert changed == in_shard_1 and any(changed) and not all(changed)


@pytest.mark.slow
def test_published_webp_export_decodes_to_the_same_pixels(folder_root, tmp_path):
    """The releases are lossless webp re-encodings (clip_benchmark_export_wds): same pixels, greyscale included."""
    export_clip_benchmark_wds(folder_root / "imagenet-r", tmp_path / "wds_imagenet-r", image_format="webp")
    assert_same_samples(
        make_benchmark("imagenet_r", folder_root).dataset(), make_benchmark("imagenet_r", tmp_path).dataset()
    )


def _save_hf(folder_root: Path, out: Path, *, dict_split: str | None = None, by_index: bool = False) -> None:
    import datasets

    files = sorted((folder_root / "imagenet-a").glob("*/*"))
    wnids = list(subset_wnids("imagenet_a"))
    if by_index:  # integer ILSVRC indices under custom column names, in a DatasetDict
        features = datasets.Features({"img": datasets.Image(), "cls_id": datasets.Value("int64")})
        data = {"img": [str(p) for p in files], "cls_id": [wnid_index()[p.parent.name] for p in files]}
    else:  # a ClassLabel named by WordNet ids, as many hub copies of the ImageNet family are
        features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=wnids)})
        data = {"image": [str(p) for p in files], "label": [wnids.index(p.parent.name) for p in files]}
    ds = datasets.Dataset.from_dict(data, features=features)
    (datasets.DatasetDict({dict_split: ds}) if dict_split else ds).save_to_disk(str(out))


def test_hf_saved_folder_reads_like_the_folder(folder_root, tmp_path):
    _save_hf(folder_root, tmp_path / "hf" / "imagenet-a")
    (tmp_path / SOURCES_FILE).write_text("imagenet_a: {kind: hf, path: hf/imagenet-a}\n")
    bench = make_benchmark("imagenet_a", tmp_path)
    rows = bench.dataset()
    assert isinstance(rows, HFRowsDataset)
    assert_same_samples(make_benchmark("imagenet_a", folder_root).dataset(), rows)
    assert rows.sample_ids[0].endswith(".JPEG")  # the stored file names become the sample ids
    assert bench.record["source"]["matched_by"] == "wnid, position"
    geometry = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(32), transforms.PILToTensor()])
    batches = list(make_loader(PixelDataset(rows, range(len(rows)), geometry), batch_size=50, workers=2))
    assert sum(len(b.positions) for b in batches) == len(rows) and not any(b.failures for b in batches)


def test_hf_dataset_dict_with_imagenet_indices(folder_root, tmp_path):
    _save_hf(folder_root, tmp_path / "a-dict", dict_split="validation", by_index=True)
    (tmp_path / SOURCES_FILE).write_text(
        f"imagenet_a: {{kind: hf, path: {tmp_path / 'a-dict'}, split: validation, image_column: img, "
        "label_column: cls_id, labels: imagenet_index}\n"
    )
    folder = make_benchmark("imagenet_a", folder_root).dataset()
    assert_same_samples(folder, make_benchmark("imagenet_a", tmp_path).dataset())
    # the same folder without its column names: one clear line naming the candidates
    (tmp_path / SOURCES_FILE).write_text(
        f"imagenet_a: {{kind: hf, path: {tmp_path / 'a-dict'}, labels: imagenet_index}}"
    )
    with pytest.raises(DatasetError, match=r"which column is the label \(img, cls_id\); say label_column"):
        make_benchmark("imagenet_a", tmp_path).dataset()


def _write_shards(folder: Path, samples: list[tuple[str, bytes, int]], per_shard: int) -> None:
    import webdataset

    (folder / "test").mkdir(parents=True)
    with webdataset.ShardWriter(str(folder / "test" / "%d.tar"), maxcount=per_shard) as sink:
        for key, data, label in samples:
            sink.write({"__key__": key, "jpg": data, "cls": label})
    n = len(list((folder / "test").glob("*.tar")))
    (folder / "test" / "nshards.txt").write_text(f"{n}\n")


def _photo_bytes(n: int) -> list[bytes]:
    folder = require_shared("imagenet-samples")
    return [p.read_bytes() for p in sorted(folder.glob("*.JPEG"))[:n]]


def test_unreadable_and_cut_members_are_reported_like_bad_files(tmp_path):
    photos = _photo_bytes(5)
    samples = [(f"s{i}", photos[i], i) for i in range(5)]
    samples[1] = ("s1", b"this is no image", 1)
    release = tmp_path / "wds_imagenet1k"
    _write_shards(release, samples, per_shard=5)
    (release / "classnames.txt").write_text("\n".join(imagenet_wnids()) + "\n")  # WordNet ids work as names too
    shard = release / "test" / "0.tar"
    with tarfile.open(shard) as tar:
        members = tar.getmembers()
    assert [m.name for m in members][-2:] == ["s4.cls", "s4.jpg"]  # webdataset writes a sample's members sorted
    with open(shard, "r+b") as f:  # cut the shard inside the last image, as an interrupted download would
        f.truncate(members[-1].offset_data + members[-1].size // 2)
    bench = make_benchmark("imagenet", tmp_path)
    ds = bench.dataset()
    assert [s.split("/")[1] for s in ds.sample_ids] == ["s0", "s1", "s2", "s3", "s4"]
    assert "0.tar" in bench.record["source"]["damaged"]
    items = [PixelDataset(ds, range(len(ds)), transforms.PILToTensor())[i] for i in range(len(ds))]
    assert [reason for _, _, reason, _ in items] == [None, "not an image", None, None, "truncated"]
    with pytest.raises(BadImageError, match="0.tar:s1.jpg: not an image"):
        ds.load(1)


def test_samples_after_a_cut_header_are_lost_and_recorded(tmp_path):
    photos = _photo_bytes(3)
    release = tmp_path / "wds_imagenet1k"
    _write_shards(release, [(f"s{i}", photos[i], i) for i in range(3)], per_shard=3)
    (release / "classnames.txt").write_text("\n".join(imagenet_wnids()) + "\n")
    shard = release / "test" / "0.tar"
    with tarfile.open(shard) as tar:
        cls = tar.getmember("s2.cls")
    with open(shard, "r+b") as f:
        f.truncate(cls.offset + 100)  # inside the header of s2's first member
    bench = make_benchmark("imagenet", tmp_path)
    ds = bench.dataset()
    assert [s.split("/")[1] for s in ds.sample_ids] == ["s0", "s1"]
    assert "after 4 members" in bench.record["source"]["damaged"]["0.tar"]
    np.testing.assert_array_equal(pixels(ds, 1), np.asarray(Image.open(io.BytesIO(photos[1])).convert("RGB")))


def test_bad_releases_fail_with_one_line(tmp_path):
    photos = _photo_bytes(4)
    release = tmp_path / "wds_imagenet-r"
    _write_shards(release, [(f"s{i}", photos[i], i) for i in range(4)], per_shard=2)
    (release / "classnames.txt").write_text("cat\ndog\n")
    with pytest.raises(DatasetError, match="labels: index") as err:
        make_benchmark("imagenet_r", tmp_path).dataset()
    assert "\n" not in str(err.value)
    (release / "classnames.txt").unlink()
    (release / "test" / "nshards.txt").write_text("3\n")
    with pytest.raises(DatasetError, match=r"1 of the 3 shards .* are missing \(2.tar\)"):
        make_benchmark("imagenet_r", tmp_path).dataset()
    (release / "test" / "nshards.txt").write_text("2\n")
    (tmp_path / SOURCES_FILE).write_text("imagenet_r: {kind: wds, path: wds_imagenet-r, labels: index}\n")
    ds = make_benchmark("imagenet_r", tmp_path).dataset()  # labels as class positions: 0..3 are the first classes
    assert ds.targets.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "text,error,pattern",
    [
        (
            "imagenet_rr: {kind: wds, path: x}\n",
            SpecError,
            "unknown benchmark 'imagenet_rr'; did you mean 'imagenet_r'",
        ),
        ("imagenet_r: {kind: wsd, path: x}\n", SpecError, "unknown data source kind 'wsd'; did you mean 'wds'"),
        ("imagenet_r: {kind: wds, path: x, splt: test}\n", SpecError, "unknown option 'splt' .*did you mean 'split'"),
        ("imagenet_r: {kind: wds}\n", SpecError, "needs 'kind'"),
        ("imagenet_r: {kind: wds, path: nowhere}\n", DatasetError, "nowhere does not exist"),
        ("imagenet_r: [kind: wds\n", DatasetError, "not valid YAML"),
    ],
)
def test_bad_sources_file_fails_with_one_line(tmp_path, text, error, pattern):
    (tmp_path / SOURCES_FILE).write_text(text)
    with pytest.raises(error, match=pattern) as err:
        make_benchmark("imagenet_r", tmp_path).dataset()
    assert "\n" not in str(err.value)


def test_missing_everything_names_both_layouts(tmp_path):
    with pytest.raises(DatasetError) as err:
        make_benchmark("imagenet_r", tmp_path).dataset()
    assert "imagenet-r/<wnid>/*.jpg" in str(err.value) and "wds_imagenet-r" in str(err.value)


def test_folder_layout_wins_over_a_release_and_the_sources_file_wins_over_both(folder_root, wds_root, tmp_path):
    root = tmp_path / "both"
    root.mkdir()
    (root / "imagenet-r").symlink_to(folder_root / "imagenet-r")
    (root / "wds_imagenet-r").symlink_to(wds_root / "wds_imagenet-r")
    assert not isinstance(make_benchmark("imagenet_r", root).dataset(), ShardDataset)
    (root / SOURCES_FILE).write_text("imagenet_r: {kind: wds, path: wds_imagenet-r}\n")
    assert isinstance(make_benchmark("imagenet_r", root).dataset(), ShardDataset)


def test_imagenet_o_release_keeps_its_class_folder_as_metadata(tmp_path):
    photos = require_shared("imagenet-samples")
    wnids = list(subset_wnids("imagenet_o"))[:3]
    files = {w: next(photos.glob(f"{w}_*.JPEG")) for w in wnids}
    release = tmp_path / "wds_imagenet-o"
    _write_shards(release, [(f"s{i}", files[w].read_bytes(), i) for i, w in enumerate(wnids)], per_shard=10)
    names = clip_classnames()
    (release / "classnames.txt").write_text("\n".join(names[wnid_index()[w]] for w in subset_wnids("imagenet_o")))
    ds = make_benchmark("imagenet_o", tmp_path).dataset()
    assert ds.meta["folder"] == wnids and (ds.targets == -1).all()
    np.testing.assert_array_equal(pixels(ds, 0), np.asarray(Image.open(files[wnids[0]]).convert("RGB")))
