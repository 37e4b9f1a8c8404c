"""Retrieval readers on tiny hand-built trees in each layout; CLIP_benchmark's own readers as the reference for
its two layouts; FactorWorld retrieval; the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zeroshift.data import make_benchmark
from zeroshift.data.factorworld.benchmarks import FactorWorldTest
from zeroshift.data.factorworld.retrieval import FactorWorldRetrieval
from zeroshift.data.retrieval import NO_LABELS, CaptionsFolder, FlickrRetrieval, MSCOCORetrieval, caption_table
from zeroshift.errors import DatasetError, SpecError


def image(path: Path, colour: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (colour, 0, 0)).save(path)
    return path


def karpathy_coco(root: Path) -> Path:
    """dataset_coco.json with two test images (5 and 6 captions), one val and one restval image."""
    images = [
        {"filepath": "val2014", "filename": "COCO_val2014_000000000042.jpg", "split": "test", "cocoid": 42,
         "sentences": [{"raw": f"caption {j} of 42 ", "tokens": []} for j in range(5)]},
        {"filepath": "val2014", "filename": "COCO_val2014_000000000007.jpg", "split": "val", "cocoid": 7,
         "sentences": [{"raw": "a val caption"}]},
        {"filepath": "val2014", "filename": "COCO_val2014_000000000003.jpg", "split": "test", "cocoid": 3,
         "sentences": [{"raw": f"caption {j} of 3"} for j in range(6)]},
        {"filepath": "train2014", "filename": "COCO_train2014_000000000001.jpg", "split": "restval", "cocoid": 1,
         "sentences": [{"raw": "a restval caption"}]},
    ]  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    for entry in images:
        image(root / entry["filepath"] / entry["filename"])
    return root


def clip_benchmark_coco(root: Path) -> Path:
    """CLIP_benchmark's mscoco_captions layout: coco_test_karpathy.json (COCO captions format) + val2014/."""
    data = {
        "images": [{"id": 9, "file_name": "COCO_val2014_9.jpg"}, {"id": 2, "file_name": "COCO_val2014_2.jpg"}],
        "annotations": [
            {"id": 1, "image_id": 9, "caption": "a dog on a sofa"},
            {"id": 2, "image_id": 2, "caption": "two cats"},
            {"id": 3, "image_id": 9, "caption": "a brown dog, sleeping"},
            {"id": 4, "image_id": 2, "caption": "cats in the sun"},
        ],
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "coco_test_karpathy.json").write_text(json.dumps(data))
    for entry in data["images"]:
        image(root / "val2014" / entry["file_name"])
    return root


def clip_benchmark_flickr(root: Path) -> Path:
    """CLIP_benchmark's flickr30k layout: flickr30k_test_karpathy.txt + the images in the same folder."""
    lines = ["image,caption", "100.jpg,A man rides a horse.", "27.jpg,Kids, playing in a park.", "", "100.jpg,A rider."]
    root.mkdir(parents=True, exist_ok=True)
    (root / "flickr30k_test_karpathy.txt").write_text("\n".join(lines) + "\n")
    image(root / "100.jpg")
    image(root / "27.jpg")
    return root


def test_mscoco_karpathy_layout(tmp_path):
    karpathy_coco(tmp_path / "mscoco")
    bench = make_benchmark("mscoco_retrieval", tmp_path)
    data = bench.dataset()
    assert data.sample_ids == ["val2014/COCO_val2014_000000000042.jpg", "val2014/COCO_val2014_000000000003.jpg"]
    assert data.meta["captions"][0] == [f"caption {j} of 42" for j in range(5)]  # raw, whitespace stripped
    assert len(data.meta["captions"][1]) == 6  # every caption kept (COCO has images with more than 5)
    assert data.targets.tolist() == [-1, -1] and data.classes == []
    assert data.path(0).is_file()
    assert bench.record["annotations"] == "dataset_coco.json"
    assert MSCOCORetrieval(tmp_path, split="val").dataset().meta["captions"] == [["a val caption"]]
    assert bench.label_space() is NO_LABELS and bench.label_space("none").class_names == ()
    with pytest.raises(SpecError, match="no label space 'full'"):
        bench.label_space("full")


def test_mscoco_clip_benchmark_layout_equals_its_reader(tmp_path):
    root = clip_benchmark_coco(tmp_path / "mscoco")
    data = MSCOCORetrieval(tmp_path).dataset()
    # CLIP_benchmark's build_dataset("mscoco_captions", root, split="test") builds exactly this (builder.py), after
    # checking that root/val2014 exists (tests/integration/test_clip_benchmark_retrieval.py calls build_dataset)
    datasets = pytest.importorskip("torchvision.datasets")
    theirs = datasets.CocoCaptions(root=str(root / "val2014"), annFile=str(root / "coco_test_karpathy.json"))
    assert len(theirs) == len(data) == 2
    for i in range(len(theirs)):
        their_image, their_captions = theirs[i]
        assert data.meta["captions"][i] == their_captions
        assert Path(theirs.root) / theirs.coco.loadImgs(theirs.ids[i])[0]["file_name"] == data.path(i)
    assert MSCOCORetrieval(tmp_path).record["annotations"] == "coco_test_karpathy.json"


def test_flickr_clip_benchmark_layout_equals_its_reader(tmp_path):
    root = clip_benchmark_flickr(tmp_path / "flickr30k")
    data = FlickrRetrieval(tmp_path).dataset()
    flickr = pytest.importorskip("clip_benchmark.datasets.flickr", reason="clip-benchmark is a test dependency")
    theirs = flickr.Flickr(root=str(root), ann_file=str(root / "flickr30k_test_karpathy.txt"))
    assert [(name, caps) for name, caps in theirs.data] == list(
        zip(data.sample_ids, data.meta["captions"], strict=True)
    )
    assert data.meta["captions"][1] == ["Kids, playing in a park."]


def test_flickr_karpathy_layout_wins_over_clip_benchmark(tmp_path):
    root = clip_benchmark_flickr(tmp_path / "flickr30k")
    images = [
        {"filename": "27.jpg", "split": "test", "sentences": [{"raw": "kids play"}, {"raw": "a park"}]},
        {"filename": "100.jpg", "split": "train", "sentences": [{"raw": "a horse"}]},
    ]
    (root / "dataset_flickr30k.json").write_text(json.dumps({"images": images, "dataset": "flickr30k"}))
    image(root / "flickr30k-images" / "27.jpg")
    bench = FlickrRetrieval(tmp_path)
    data = bench.dataset()
    assert data.sample_ids == ["flickr30k-images/27.jpg"]
    assert data.meta["captions"] == [["kids play", "a park"]]
    assert bench.record["annotations"] == "dataset_flickr30k.json"


def test_captions_folder_csv_and_jsonl(tmp_path):
    image(tmp_path / "photos" / "a.png")
    image(tmp_path / "photos" / "sub" / "b.jpg")
    image(tmp_path / "photos" / "unlisted.png")
    (tmp_path / "photos" / "captions.csv").write_text(
        'image,caption,source\nsub/b.jpg,"a dog, brown",x\na.png,a cat,y\nsub/b.jpg,a pet,z\n'
    )
    data = make_benchmark(f"captions_folder(path='{tmp_path / 'photos'}')", None).dataset()
    assert data.sample_ids == ["sub/b.jpg", "a.png"]  # first appearance; unlisted images are not samples
    assert data.meta["captions"] == [["a dog, brown", "a pet"], ["a cat"]]
    table = caption_table(data)
    assert table.text_to_image.tolist() == [0, 0, 1] and table.caption_ids == ["sub/b.jpg#0", "sub/b.jpg#1", "a.png#0"]
    (tmp_path / "photos" / "more.jsonl").write_text('{"image": "./a.png", "caption": "red"}\n\n')
    other = CaptionsFolder(None, path=str(tmp_path / "photos"), captions="more.jsonl").dataset()
    assert other.sample_ids == ["a.png"] and other.meta["captions"] == [["red"]]


def test_captions_folder_relative_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert CaptionsFolder(None, path="photos").params["path"] == str(tmp_path / "photos")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: None, "no dataset folder at"),
        (lambda r: image(r / "a.png"), "no captions.csv or captions.jsonl"),
        (lambda r: _both(r), "both captions.csv and captions.jsonl"),
        (lambda r: _write(r / "captions.csv", "file,text\na.png,x\n"), "columns \\['file', 'text'\\]"),
        (lambda r: _write(r / "captions.csv", "image,caption\na.png,\n"), "line 2 caption must be a non-empty"),
        (lambda r: _write(r / "captions.csv", "image,caption\n"), "no caption rows"),
        (lambda r: _write(r / "captions.jsonl", '{"image": "a.png"}\n'), "line 1 caption must be a non-empty"),
        (lambda r: _write(r / "captions.jsonl", "a.png,red\n"), "line 1 is not a JSON object"),
        (lambda r: _write(r / "captions.csv", "image,caption\n/etc/a.png,x\n"), "must be a path inside the folder"),
        (lambda r: _write(r / "captions.csv", "image,caption\nnotes.txt,x\n"), "'notes.txt' is not an image"),
        (lambda r: _write(r / "captions.csv", "image,caption\na.png,x\nb.png,y\n"), "1 of the 2 images listed"),
    ],
)
def test_captions_folder_errors_are_one_line(tmp_path, setup, message):
    root = tmp_path / "photos"
    if setup(root) is None and not root.exists():
        pass  # no folder at all
    with pytest.raises(DatasetError, match=message) as err:
        CaptionsFolder(None, path=str(root)).dataset()
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("captions_folder: ") and "Expected layout: a folder of images" in str(err.value)


def _write(path: Path, text: str) -> None:
    image(path.parent / "a.png")
    path.write_text(text)


def _both(root: Path) -> None:
    _write(root / "captions.csv", "image,caption\na.png,x\n")
    (root / "captions.jsonl").write_text('{"image": "a.png", "caption": "x"}\n')


@pytest.mark.parametrize(
    ("bench", "build", "message"),
    [
        ("mscoco_retrieval", lambda r: (r / "mscoco").mkdir(), "no caption annotations \\(dataset_coco.json or coco_"),
        ("mscoco_retrieval", lambda r: _text(r / "mscoco" / "dataset_coco.json", "{not json"), "not valid JSON"),
        ("mscoco_retrieval", lambda r: _text(r / "mscoco" / "dataset_coco.json", "[]"), "no 'images' list"),
        ("mscoco_retrieval", lambda r: _karpathy(r, {"split": "test"}), "filename must be a non-empty string"),
        ("mscoco_retrieval", lambda r: _karpathy(r, {"split": "train"}), "no image of split 'test' \\(splits"),
        ("mscoco_retrieval", lambda r: _karpathy(r, {"split": "test", "filepath": "val2014", "filename": "x.jpg"}),
         "has no 'sentences'"),
        ("mscoco_retrieval", lambda r: _missing_images(r), "1 of the 2 images listed in dataset_coco.json are missing"),
        ("mscoco_retrieval", lambda r: _coco_no_caption(r), "image b.jpg has no caption"),
        ("flickr30k_retrieval", lambda r: _text(r / "flickr30k" / "flickr30k_test_karpathy.txt", "1.jpg,a dog\n"),
         "no header line"),
        ("flickr30k_retrieval", lambda r: _text(r / "flickr30k" / "flickr30k_test_karpathy.txt", "image,caption\nx\n"),
         "line 2 is not '<name>.jpg,<caption>'"),
    ],
)  # fmt: skip
def test_karpathy_errors_name_the_layout(tmp_path, bench, build, message):
    build(tmp_path)
    with pytest.raises(DatasetError, match=message) as err:
        make_benchmark(bench, tmp_path).dataset()
    text = str(err.value)
    assert "\n" not in text and "Expected layout:" in text and "Published at https://" in text
    assert "caption_datasets.zip" in text and "retrieval_annotations" in text


def test_missing_root_and_no_data_root(tmp_path):
    with pytest.raises(DatasetError, match="mscoco_retrieval: no dataset folder at .*mscoco. Expected layout"):
        MSCOCORetrieval(tmp_path).dataset()
    with pytest.raises(SpecError, match="no data root given"):
        FlickrRetrieval(None).dataset()
    with pytest.raises(SpecError, match="split must be 'test' or 'val'"):
        MSCOCORetrieval(tmp_path, split="train")


@pytest.mark.parametrize(
    ("bench", "expected"),
    [
        (
            "flickr30k_retrieval",
            "flickr30k_retrieval: no caption annotations (dataset_flickr30k.json or flickr30k_test_",
        ),
        ("mscoco_retrieval", "mscoco_retrieval: no dataset folder at "),
    ],
)
def test_missing_data_through_the_entry_point_is_one_line_and_exit_code_2(
    tmp_path, monkeypatch, capsys, bench, expected
):
    from zeroshift.cli.main import main

    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "flickr30k").mkdir()  # a folder without its annotations; no mscoco folder at all
    args = ["run", "-m", "zoo:clip-cnn-diverse-small", "-b", bench, "--data-root", str(tmp_path), "--no-progress"]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--store", str(tmp_path / "r.db")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"zeroshift: error: {expected}")
    assert "Expected layout: " in err and "Published at https://" in err and "retrieval_annotations" in err


def _text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _karpathy(root: Path, entry: dict) -> None:
    _text(root / "mscoco" / "dataset_coco.json", json.dumps({"images": [entry]}))


def _missing_images(root: Path) -> None:
    karpathy_coco(root / "mscoco")
    (root / "mscoco" / "val2014" / "COCO_val2014_000000000003.jpg").unlink()


def _coco_no_caption(root: Path) -> None:
    data = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "caption": "x"}]}  # fmt: skip
    _text(root / "mscoco" / "coco_test_karpathy.json", json.dumps(data))


def test_factorworld_retrieval():
    bench = FactorWorldRetrieval(n=12, captions=5)
    data = bench.dataset()
    assert len(data) == 12 and not bench.labelled and bench.label_space() is NO_LABELS
    assert bench.metric_groups == ("retrieval", "modality_gap")
    for shape, captions in zip(data.meta["shape"], data.meta["captions"], strict=True):
        assert len(captions) == len(set(captions)) == 5
        assert all(shape in c.split() for c in captions)  # the caption grammar always names the shape
    # the images are those of the clean split: the same content keys, so cached image features are reused
    assert data.content_keys() == FactorWorldTest(n=12).dataset().content_keys()
    again = FactorWorldRetrieval(n=20, captions=5).dataset()
    assert again.meta["captions"][:12] == data.meta["captions"]  # a caption does not depend on n
    assert FactorWorldRetrieval(n=12, captions=5, seed=1).dataset().meta["captions"] != data.meta["captions"]
    assert bench.record["captions_per_image"] == 5 and "generator" in bench.record
    assert bench.canonical == "factorworld_retrieval(captions=5, n=12, seed=0)"
    assert np.all(data.targets == -1) and "style" in data.meta
    with pytest.raises(SpecError, match="captions must be an integer from 1 to 50"):
        FactorWorldRetrieval(captions=0)
