"""Every benchmark reads its published layout, built in a temp dir from the shared photos."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import build_wnid_layout, require_shared, sample_manifest
from zeroshift.data import make_benchmark
from zeroshift.data.info import imagenet_wnids, subset_wnids, wnid_index
from zeroshift.data.objectnet import N_FOLDERS, objectnet_mapping
from zeroshift.errors import DatasetError


@pytest.fixture(scope="module")
def photos():
    require_shared("imagenet-samples")
    return sample_manifest()


def check_targets(bench, dataset, space_name=None):
    space = bench.label_space(space_name)
    labels = bench.native_to_label(space)[dataset.targets]
    index = wnid_index()
    for sid, label in zip(dataset.sample_ids, labels, strict=True):
        wnid = sid.split("/")[-1].split("_")[0]  # the shared photos are named <wnid>_<label>.JPEG
        expected = index[wnid] if space.name == "full" else list(bench.class_wnids()).index(wnid)
        assert label == expected, sid


def test_imagenet_val(tmp_path, photos):
    build_wnid_layout(tmp_path / "imagenet" / "val")
    bench = make_benchmark("imagenet", tmp_path)
    dataset = bench.dataset()
    assert len(dataset) == 1000 and dataset.classes == list(imagenet_wnids())
    check_targets(bench, dataset)


def test_imagenet_v2_index_folders(tmp_path, photos):
    build_wnid_layout(tmp_path / "imagenetv2-matched-frequency-format-val", index_folders=True, rename=".jpeg")
    bench = make_benchmark("imagenet_v2", tmp_path)
    dataset = bench.dataset()
    assert len(dataset) == 1000 and dataset.sample_ids[0].split("/")[0] == "0"
    targets = {sid.split("/")[0]: t for sid, t in zip(dataset.sample_ids, dataset.targets, strict=True)}
    assert all(int(folder) == t for folder, t in targets.items())  # folder k holds class k


def test_imagenet_sketch(tmp_path, photos):
    wnids = set(imagenet_wnids()[:50])
    build_wnid_layout(tmp_path / "imagenet-sketch" / "sketch", wnids)
    bench = make_benchmark("imagenet_sketch", tmp_path)
    dataset = bench.dataset()
    assert len(dataset) == 50
    check_targets(bench, dataset)


@pytest.mark.parametrize("name,folder", [("imagenet_r", "imagenet-r"), ("imagenet_a", "imagenet-a")])
def test_200_class_benchmarks(tmp_path, photos, name, folder):
    build_wnid_layout(tmp_path / folder, set(subset_wnids(name)), per_class=2)
    bench = make_benchmark(name, tmp_path)
    dataset = bench.dataset()
    assert len(dataset) == 400 and len(dataset.classes) == 200
    check_targets(bench, dataset, "subset")
    check_targets(bench, dataset, "full")


def test_imagenet_c_tree(tmp_path, photos):
    build_wnid_layout(tmp_path / "imagenet-c" / "fog" / "3", set(imagenet_wnids()[:20]))
    bench = make_benchmark("imagenet_c(corruption='fog', severity=3)", tmp_path)
    assert len(bench.dataset()) == 20
    with pytest.raises(DatasetError, match=r"imagenet-c/fog/4"):
        make_benchmark("imagenet_c(corruption='fog', severity=4)", tmp_path).dataset()


def test_objectnet_layout_with_border_crop(tmp_path, photos):
    root = tmp_path / "objectnet-1.0" / "images"
    folders = [f"class_{i:03d}" for i in range(N_FOLDERS)]  # any 313 names: positions follow sorted order
    for f in folders:
        (root / f).mkdir(parents=True)
    position, _ = objectnet_mapping()[5]
    Image.new("RGB", (20, 20), (255, 0, 0)).save(root / folders[position] / "a.png")
    Image.new("RGB", (20, 20)).save(root / folders[0] / "not_overlapping.png")  # position 0 is not mapped
    bench = make_benchmark("objectnet", tmp_path)
    dataset = bench.dataset()
    assert dataset.sample_ids == [f"{folders[position]}/a.png"] and dataset.targets.tolist() == [5]
    image, _ = dataset.load(0)
    assert image.size == (16, 16)  # 2-pixel border cropped on every side
    assert bench.class_display_names(dataset)[5] == folders[position].replace("_", " ")


def flat_val_tar(root):
    """The raw ILSVRC val tar extracts flat: a common mistake the error must name."""
    (root / "imagenet" / "val").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(root / "imagenet" / "val" / "ILSVRC2012_val_00000001.JPEG")


@pytest.mark.parametrize(
    "name,build,fragment",
    [
        ("imagenet_r", lambda root: None, "no dataset folder"),
        ("imagenet_r", lambda root: (root / "imagenet-r").mkdir(), "no images"),
        ("imagenet_r", lambda root: (root / "imagenet-r" / "n01440764").mkdir(parents=True), "unexpected class folder"),
        ("imagenet", lambda root: flat_val_tar(root), "not in class folders"),
        ("objectnet", lambda root: (root / "objectnet-1.0" / "images" / "x").mkdir(parents=True), "313"),
    ],
)
def test_missing_or_malformed_layout_is_one_clear_line(tmp_path, name, build, fragment):
    build(tmp_path)
    with pytest.raises(DatasetError) as err:
        make_benchmark(name, tmp_path).dataset()
    message = str(err.value)
    assert fragment in message and "Expected layout:" in message and "Published at" in message
    assert "\n" not in message


def test_content_keys_change_when_bytes_change(tmp_path, photos):
    build_wnid_layout(tmp_path / "imagenet-r", set(subset_wnids("imagenet_r")[:3]))
    dataset = make_benchmark("imagenet_r", tmp_path).dataset()
    before = dataset.content_keys()
    path = dataset.path(0)
    data = path.read_bytes()
    path.unlink()  # break the hard link to the shared photo before rewriting
    path.write_bytes(data + b"\0")
    after = dataset.content_keys()
    assert before[0] != after[0] and before[1:] == after[1:]
    assert np.all(dataset.targets == np.arange(3))
