"""The imagenet_d benchmark in its released layout, built from real ImageNet photos of its classes."""

import csv

import pytest

from tests.helpers import _place, require_shared, sample_manifest
from zeroshift.data import make_benchmark
from zeroshift.data.imagenet_d import imagenet_d_classes
from zeroshift.data.objectnet import objectnet_mapping
from zeroshift.errors import DatasetError, SpecError


def build_layout(root, subset="texture", per_folder=3):
    """ImageNet-D/<subset>/<class folder>/ filled with shared photos whose ImageNet class maps to that folder."""
    photos = require_shared("imagenet-samples")
    folder_of = {i: c["folder"] for c in imagenet_d_classes() for i in c["imagenet_indices"]}
    placed = {}
    for row in sample_manifest():
        folder = folder_of.get(int(row["class_index"]))
        if folder is None or len(placed.setdefault(folder, [])) >= per_folder:
            continue
        _place(photos / row["file"], root / "ImageNet-D" / subset / folder / row["file"])
        placed[folder].append(row["file"])
    return placed


def test_class_list_matches_objectnet_mapping():
    # ImageNet-D's 113 classes are ObjectNet's ImageNet-overlapping ones: two independently shipped mappings agree
    ours = sorted(tuple(sorted(c["imagenet_indices"])) for c in imagenet_d_classes())
    objectnet = sorted(tuple(sorted(group)) for _, group in objectnet_mapping())
    assert len(ours) == 113 and ours == objectnet
    names = [c["name"] for c in imagenet_d_classes()]
    assert names[:3] == ["alarm clock", "backpack", "banana"] and "binder (closed)" in names and "t shirt" in names


def test_dataset_labels_and_label_spaces(tmp_path):
    placed = build_layout(tmp_path)
    assert len(placed) >= 10  # the shared photos cover many of the 113 classes
    bench = make_benchmark("imagenet_d(subset='texture')", tmp_path)
    ds = bench.dataset()
    classes = imagenet_d_classes()
    assert len(ds) == sum(len(v) for v in placed.values())
    for sid, target in zip(ds.sample_ids, ds.targets, strict=True):
        subset, folder, file = sid.split("/")
        assert subset == "texture" and classes[target]["folder"] == folder and file in placed[folder]
    native, mapped = bench.label_space("native"), bench.label_space("subset")
    assert native.class_names == mapped.class_names and len(native.class_names) == 113
    assert mapped.universe == "imagenet1k" and mapped.columns[0] == (409, 530)


def test_published_question_file(tmp_path):
    placed = build_layout(tmp_path, per_folder=1)
    folders = sorted(placed)
    names = {c["folder"]: c["name"] for c in imagenet_d_classes()}
    qdir = tmp_path / "ImageNet-D" / "questions"
    qdir.mkdir()
    with open(qdir / "texture.csv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["image_dir", "gt_category", "top1_pred_cate", "top2_pred_cate"])
        first = folders[0]
        w.writerow([f"texture/{first}/{placed[first][0]}", names[first], "tv", "banana"])
    ds = make_benchmark("imagenet_d(subset='texture')", tmp_path).dataset()
    index = {c["name"]: i for i, c in enumerate(imagenet_d_classes())}
    row = ds.sample_ids.index(f"texture/{first}/{placed[first][0]}")
    assert ds.meta["published_top1"][row] == index["tv"] and ds.meta["published_top2"][row] == index["banana"]
    assert sum(v >= 0 for v in ds.meta["published_top1"]) == 1


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"imagenet_d: no subset folder at .*ImageNet-D/material\. Expected layout"):
        make_benchmark("imagenet_d(subset='material')", tmp_path).dataset()
    (tmp_path / "ImageNet-D" / "background" / "spaceship").mkdir(parents=True)
    with pytest.raises(DatasetError, match="not one of the 113 \\('spaceship'\\)"):
        make_benchmark("imagenet_d", tmp_path).dataset()
    with pytest.raises(SpecError, match="subset must be one of background, texture, material"):
        make_benchmark("imagenet_d(subset='colour')", tmp_path)
