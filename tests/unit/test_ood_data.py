"""OOD benchmarks read their published layouts, carry their in-distribution pairing, and fail in one line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import build_wnid_layout, require_shared
from zeroshift.data import make_benchmark
from zeroshift.data.info import subset_wnids
from zeroshift.errors import DatasetError, SpecError, UsageError


def _photos(n: int) -> list[Path]:
    folder = require_shared("imagenet-samples")
    return sorted(folder.glob("*.JPEG"))[:n]


def _link(files: list[Path], dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in files:
        os.link(f, dst / f.name.replace(".JPEG", ".jpg"))


def test_imagenet_o_reads_its_200_wnid_folders_without_labels(tmp_path: Path) -> None:
    build_wnid_layout(tmp_path / "imagenet-o", set(subset_wnids("imagenet_o")))
    bench = make_benchmark("imagenet_o", tmp_path)
    data = bench.dataset()
    assert len(data) == 200 and (data.targets == -1).all() and not bench.labelled
    assert data.meta["folder"][0] == data.sample_ids[0].split("/")[0]
    assert bench.canonical == "imagenet_o(id='imagenet')" and bench.metric_groups == ("ood",)
    assert bench.label_spaces == ("subset", "full")
    assert len(bench.label_space("subset").class_names) == 200 and len(bench.label_space("full").class_names) == 1000


@pytest.mark.parametrize(
    ("name", "rel"),
    [
        ("inaturalist_ood", "iNaturalist/images"),
        ("sun_ood", "SUN/images"),
        ("places_ood", "Places/images"),
        ("inaturalist_ood", "ImageNet_OOD_dataset/iNaturalist/images"),  # MCM's folder
        ("textures_ood", "dtd/images/banded"),
    ],
)
def test_mos_mcm_subsets_read_their_published_layouts(tmp_path: Path, name: str, rel: str) -> None:
    _link(_photos(3), tmp_path / rel)
    data = make_benchmark(name, tmp_path).dataset()
    assert len(data) == 3 and (data.targets == -1).all()
    if name == "textures_ood":
        assert all(s.startswith("banded/") for s in data.sample_ids)
        assert data.meta["folder"] == ["banded"] * 3


def test_missing_and_empty_sets_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"iNaturalist/images/\*\.jpg.*huangrui"):
        make_benchmark("inaturalist_ood", tmp_path).dataset()
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="no images") as err:
        make_benchmark(f"ood_folder(path={str(tmp_path / 'empty')!r})", tmp_path).dataset()
    assert "\n" not in str(err.value)


def test_ood_folder_finds_images_at_any_depth_and_keys_on_an_absolute_path(tmp_path: Path, monkeypatch) -> None:
    files = _photos(4)
    _link(files[:2], tmp_path / "mine" / "a")
    _link(files[2:], tmp_path / "mine" / "b" / "deeper")
    (tmp_path / "mine" / ".cache").mkdir()
    _link(files[:1], tmp_path / "mine" / ".cache")
    monkeypatch.chdir(tmp_path)
    bench = make_benchmark("ood_folder(path='mine')", None)
    assert bench.params["path"] == str(tmp_path / "mine")
    assert bench.canonical == f"ood_folder(id='imagenet', path={str(tmp_path / 'mine')!r})"
    data = bench.dataset()
    assert len(data) == 4 and all(not s.startswith(".") for s in data.sample_ids)
    assert data.sample_ids[-1].startswith("b/deeper/")


def test_the_pairing_is_checked_and_canonical() -> None:
    assert make_benchmark("ood_folder(path='/x', id=\"imagenet(split='val')\")", None).in_distribution == "imagenet"
    paired = make_benchmark("ood_folder(path='/x', id='imagenet_r')", None)
    assert paired.label_spaces == ("subset", "full")  # the in-distribution set's label spaces
    assert len(paired.label_space().class_names) == 200
    with pytest.raises(SpecError, match="needs a folder"):
        make_benchmark("ood_folder", None)
    with pytest.raises(SpecError, match="did you mean 'imagenet'"):
        make_benchmark("sun_ood(id='imagenett')", None)
    with pytest.raises(SpecError, match="labelled"):
        make_benchmark("sun_ood(id='imagenet_o')", None)
    with pytest.raises(SpecError, match="label space"):
        make_benchmark("ood_folder(path='/x')", None).resolve_label_space("subset")


def test_in_space_rescores_full_outputs_over_a_subset() -> None:
    from zeroshift.core.outputs import LocalOutputs, Outputs

    bench = make_benchmark("imagenet_o", None)
    full, subset = bench.label_space("full"), bench.label_space("subset")
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(4, 1000)), dtype=torch.float32)
    labels = np.array([subset.columns[0][0], 0, subset.columns[5][0], -1])
    out = Outputs(["a", "b", "c", "d"], labels, logits, logits / 100, full)
    moved = out.in_space(subset)
    cols = [g[0] for g in subset.columns]
    torch.testing.assert_close(moved.logits, logits[:, cols])
    torch.testing.assert_close(moved.cosines, logits[:, cols] / 100)
    assert moved.labels.tolist() == [0, -1, 5, -1]
    assert moved.select([2, 0]).sample_ids == ["c", "a"]
    head = torch.eye(1000)[:, :8]
    local = LocalOutputs(["a"], torch.zeros(1, 2, 8), head, full).in_space(subset)
    assert local.head.shape == (200, 8) and torch.equal(local.head, head[cols])
    with pytest.raises(UsageError, match="cannot re-express"):
        moved.in_space(full)
