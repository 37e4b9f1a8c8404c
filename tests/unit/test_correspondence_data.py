"""Correspondence benchmarks: SPair-71k on a hand-built tree in its released layout, homography pairs whose
rendered warps show each point where the matrix sends it, and FactorWorld pose pairs whose keypoints are on the
shape and move with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import build_wnid_layout
from zeroshift.data import make_benchmark
from zeroshift.data.factorworld.pairs import render_pose
from zeroshift.data.factorworld.shapes import outline
from zeroshift.data.homography import warp_points
from zeroshift.errors import DatasetError, SpecError

# --------------------------------------------------------------------------------------------------- SPair-71k


def write_image(path: Path, size: tuple[int, int], seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=90)


def write_pair(root: Path, pair_id: int, cat: str, src: str, trg: str, sizes: dict, **fields) -> Path:
    """A pair annotation as SPair-71k ships it (field names and value shapes of the release)."""
    data = {
        "pair_id": pair_id,
        "src_imname": f"{src}.jpg",
        "trg_imname": f"{trg}.jpg",
        "src_imsize": [*sizes[src], 3],
        "trg_imsize": [*sizes[trg], 3],
        "src_bndbox": [2, 3, 40, 30],
        "trg_bndbox": [5, 4, 35, 34],
        "category": cat,
        "src_pose": "Left",
        "trg_pose": "Frontal",
        "src_kps": [[10, 12], [20, 25], [39, 29]],
        "trg_kps": [[11, 10], [22, 30], [30, 20]],
        "kps_ids": ["0", "3", "7"],
        "mirror": 0,
        "viewpoint_variation": pair_id % 3,
        "scale_variation": 1,
        "truncation": 0,
        "occlusion": 2,
        **fields,
    }
    path = root / "PairAnnotation" / "test" / f"{pair_id:06d}-{src}-{trg}:{cat}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def spair_tree(tmp_path):
    root = tmp_path / "SPair-71k"
    sizes = {"2008_000001": (50, 40), "2008_000002": (60, 45), "2009_000003": (48, 48), "2009_000004": (44, 52)}
    cats = {"2008_000001": "cat", "2008_000002": "cat", "2009_000003": "dog", "2009_000004": "dog"}
    for i, (name, size) in enumerate(sizes.items()):
        write_image(root / "JPEGImages" / cats[name] / f"{name}.jpg", size, i)
        ann = root / "ImageAnnotation" / cats[name] / f"{name}.json"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text(json.dumps({"filename": f"{name}.jpg", "image_width": size[0], "image_height": size[1]}))
    write_pair(root, 1, "cat", "2008_000001", "2008_000002", sizes)
    write_pair(root, 2, "cat", "2008_000002", "2008_000001", sizes, trg_bndbox=[1, 1, 45, 30])
    write_pair(root, 3, "dog", "2009_000003", "2009_000004", sizes)
    return tmp_path, root, sizes


def test_spair_reads_the_released_layout(spair_tree) -> None:
    data_root, root, sizes = spair_tree
    data = make_benchmark("spair", data_root).dataset()
    assert data.sample_ids == [
        "JPEGImages/cat/2008_000001.jpg",
        "JPEGImages/cat/2008_000002.jpg",
        "JPEGImages/dog/2009_000003.jpg",
        "JPEGImages/dog/2009_000004.jpg",
    ]
    pairs = data.pairs
    assert pairs.source.tolist() == [0, 1, 2] and pairs.target.tolist() == [1, 0, 3]
    np.testing.assert_array_equal(pairs.source_kps[0], [[10, 12], [20, 25], [39, 29]])
    np.testing.assert_array_equal(pairs.target_kps[2], [[11, 10], [22, 30], [30, 20]])
    assert pairs.valid.all() and pairs.source_size[0].tolist() == [50, 40] and pairs.target_size[0].tolist() == [60, 45]
    assert pairs.normaliser.tolist() == [30.0, 44.0, 30.0]  # max(x2 - x1, y2 - y1) of the target box
    assert pairs.columns["viewpoint_variation"] == [1, 2, 0] and pairs.columns["category"] == ["cat", "cat", "dog"]
    assert pairs.columns["occlusion"] == [2, 2, 2] and pairs.bins == ("viewpoint_variation", "category")
    assert pairs.columns["pair"][0] == "000001-2008_000001-2008_000002:cat"
    assert "bndbox" in pairs.protocol["normaliser"] and pairs.protocol["split"] == "test"
    image, _ = data.load(3)
    assert image.size == sizes["2009_000004"]


def test_spair_subsamples_per_category_and_keeps_whole_pairs(spair_tree) -> None:
    data_root, _, _ = spair_tree
    one = make_benchmark("spair(per_category=1, seed=3)", data_root).dataset()
    assert sorted(one.pairs.columns["category"]) == ["cat", "dog"] and len(one) == 4
    again = make_benchmark("spair(per_category=1, seed=3)", data_root).dataset()
    assert one.pairs.columns["pair"] == again.pairs.columns["pair"]
    full = make_benchmark("spair", data_root).dataset()
    cats = full.subset([0, 1])
    assert cats.pairs.source.tolist() == [0, 1] and cats.pairs.target.tolist() == [1, 0]
    swapped = full.subset([3, 2])  # the dog pair, re-indexed to the new positions
    assert swapped.pairs.source.tolist() == [1] and swapped.pairs.target.tolist() == [0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda root: (root / "JPEGImages/dog/2009_000004.jpg").unlink(),
         r"names JPEGImages/dog/2009_000004.jpg, which does not exist at .*000003-2009_000003-2009_000004:dog.json"),
        (lambda root: write_image(root / "JPEGImages/cat/2008_000002.jpg", (61, 45)),
         r"gives JPEGImages/cat/2008_000002.jpg the size \[60, 45\] \(W, H\) but the image is \[61, 45\]"),
        (lambda root: write_pair(root, 4, "dog", "2009_000003", "2009_000004",
                                 {"2009_000003": (48, 48), "2009_000004": (44, 52)}, src_kps=[[1, 1], [2, 2], [60, 3]]),
         r"source keypoint 2 at \(60, 3\) lies outside its 48x48 image at .*000004-2009_000003-2009_000004:dog.json"),
        (lambda root: write_pair(root, 5, "dog", "2009_000003", "2009_000004",
                                 {"2009_000003": (48, 48), "2009_000004": (44, 52)}, trg_kps=[[1, 1]]),
         r"3 source but 1 target keypoints"),
        (lambda root: write_pair(root, 6, "dog", "2009_000003", "2009_000004",
                                 {"2009_000003": (48, 48), "2009_000004": (44, 52)}, trg_bndbox=[5, 4, 50, 60]),
         r"target box 1 at \(50, 60\) lies outside its 44x52 image"),
        (lambda root: (root / "PairAnnotation/test/000001-2008_000001-2008_000002:cat.json").write_text("{"),
         r"unreadable pair annotation \(JSONDecodeError\)"),
        (lambda root: (root / "PairAnnotation/test/x.json").write_text('{"src_imname": "a.jpg"}'),
         r"pair annotation without trg_imname, src_imsize"),
    ],
)  # fmt: skip
def test_spair_annotations_that_do_not_match_their_images_fail_up_front(spair_tree, change, message) -> None:
    data_root, root, _ = spair_tree
    change(root)
    with pytest.raises(DatasetError, match=message) as err:
        make_benchmark("spair", data_root).dataset()
    text = str(err.value)
    assert "\n" not in text and text.startswith("spair: ") and "Expected layout: SPair-71k/JPEGImages" in text


def test_spair_layout_and_parameter_errors(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"spair: no JPEGImages folder at .*SPair-71k/JPEGImages"):
        make_benchmark("spair", tmp_path).dataset()
    (tmp_path / "SPair-71k" / "JPEGImages").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"no pair annotation folder at .*PairAnnotation/val"):
        make_benchmark("spair(split='val')", tmp_path).dataset()
    with pytest.raises(SpecError, match="split must be one of test, val, trn, got 'train'"):
        make_benchmark("spair(split='train')", tmp_path)
    with pytest.raises(SpecError, match="per_category must be a positive integer or None"):
        make_benchmark("spair(per_category=0)", tmp_path)


# ----------------------------------------------------------------------------------------------- homographies


def blob_image(size: tuple[int, int], centres: np.ndarray, sigma: float = 1.6) -> Image.Image:
    """Gaussian blobs centred at continuous coordinates (pixel (i, j) centred at (j + 0.5, i + 0.5))."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    value = np.zeros((h, w))
    for cx, cy in centres:
        value += np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
    grey = (np.clip(value, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.stack([grey] * 3, axis=-1))


def centroid(image: Image.Image, at: np.ndarray, radius: int = 5) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)[..., 0]
    x0, y0 = int(round(at[0])), int(round(at[1]))
    window = arr[y0 - radius : y0 + radius, x0 - radius : x0 + radius]
    ys, xs = np.mgrid[y0 - radius : y0 + radius, x0 - radius : x0 + radius] + 0.5
    return np.array([(window * xs).sum(), (window * ys).sum()]) / window.sum()


def test_homography_warps_show_each_point_where_the_matrix_sends_it(tmp_path) -> None:
    size = (96, 80)
    rng = np.random.default_rng(0)
    centres = np.column_stack([rng.uniform(20, 76, 12), rng.uniform(20, 60, 12)])
    # blobs far enough apart that a window holds one
    keep = [i for i in range(12) if all(np.hypot(*(centres[i] - centres[j])) > 14 for j in range(i))]
    centres = centres[keep]
    blob_image(size, centres).save(tmp_path / "blobs.png")
    data = make_benchmark(f"homography_pairs(path='{tmp_path}', n=4, seed=1)", None).dataset()
    assert len(data) == 5 and data.meta["role"] == ["source", "warped", "warped", "warped", "warped"]
    checked = 0
    for r in range(len(data.pairs)):
        target, _ = data.load(int(data.pairs.target[r]))
        H = np.asarray(data.warps[int(data.pairs.target[r])]["H"])
        for p in warp_points(H, centres):
            if 8 <= p[0] <= size[0] - 8 and 8 <= p[1] <= size[1] - 8:
                assert np.hypot(*(centroid(target, p) - p)) < 0.35
                checked += 1
        # the pair's keypoints are the lattice mapped by the same matrix
        np.testing.assert_allclose(data.pairs.target_kps[r], warp_points(H, data.pairs.source_kps[r]))
    assert checked >= 20
    source, _ = data.load(0)
    assert np.hypot(*(centroid(source, centres[0]) - centres[0])) < 0.2  # the blobs are where they were drawn


def test_homography_pairs_are_deterministic_and_keyed_by_their_matrix(tmp_path) -> None:
    blob_image((64, 48), np.array([[20.0, 20.0], [40.0, 30.0]])).save(tmp_path / "a.png")
    blob_image((50, 60), np.array([[25.0, 25.0]])).save(tmp_path / "b.png")
    spec = f"homography_pairs(path='{tmp_path}', n=5, seed=2)"
    first, second = make_benchmark(spec, None).dataset(), make_benchmark(spec, None).dataset()
    assert first.content_keys() == second.content_keys()
    for i in range(len(first)):
        assert np.array_equal(np.asarray(first.load(i)[0]), np.asarray(second.load(i)[0]))
    keys = first.content_keys()
    assert len(set(keys)) == len(keys) and all("homography-v1" in keys[int(t)] for t in first.pairs.target)
    other = make_benchmark(f"homography_pairs(path='{tmp_path}', n=5, seed=3)", None).dataset()
    assert other.pairs.columns["rotation"] != first.pairs.columns["rotation"]
    pairs = first.pairs
    assert pairs.valid.sum(axis=1).min() >= 12 and pairs.bins == ("rotation_bin", "scale_bin")
    for r in range(len(pairs)):
        assert abs(pairs.columns["rotation"][r]) <= 90 and abs(pairs.columns["log2_scale"][r]) <= 0.5
        lo, hi = (float(v) for v in pairs.columns["rotation_bin"][r].split("-"))
        assert lo <= abs(pairs.columns["rotation"][r]) <= hi
    part = first.subset([0, 1])
    assert len(part.pairs) >= 1 and part.warps == first.warps[:2]
    assert np.array_equal(np.asarray(part.load(1)[0]), np.asarray(first.load(1)[0]))


def test_homography_pairs_of_real_photos(tmp_path) -> None:
    build_wnid_layout(tmp_path, {"n01440764", "n01443537", "n01484850"})
    data = make_benchmark(f"homography_pairs(path='{tmp_path}', n=6, seed=0)", None).dataset()
    assert len(data.pairs) == 6 and len(data) == 3 + 6
    for r in range(6):
        source, _ = data.load(int(data.pairs.source[r]))
        target, _ = data.load(int(data.pairs.target[r]))
        assert source.size == target.size == tuple(int(v) for v in data.pairs.target_size[r])
        assert data.pairs.normaliser[r] == max(source.size)
        inside = data.pairs.target_kps[r][data.pairs.valid[r]]
        assert (inside >= 0).all() and (inside[:, 0] <= source.size[0]).all() and (inside[:, 1] <= source.size[1]).all()


def test_homography_folder_errors(tmp_path) -> None:
    with pytest.raises(SpecError, match="homography_pairs needs a folder"):
        make_benchmark("homography_pairs", None)
    with pytest.raises(DatasetError, match=r"homography_pairs: no dataset folder at .*nowhere"):
        make_benchmark(f"homography_pairs(path='{tmp_path / 'nowhere'}')", None).dataset()
    with pytest.raises(DatasetError, match=r"homography_pairs: no images at"):
        make_benchmark(f"homography_pairs(path='{tmp_path}')", None).dataset()


# ----------------------------------------------------------------------------------------------- FactorWorld


@pytest.fixture(scope="module")
def fw_pairs():
    return make_benchmark("factorworld_pairs(n=40, seed=0)", None).dataset()


def test_factorworld_pair_keypoints_land_on_the_shape(fw_pairs) -> None:
    """Each vertex has object pixels next to it: the image differs from the same scene without the object there."""
    for j in range(len(fw_pairs.pairs)):
        for side, kps in ((0, fw_pairs.pairs.source_kps[j]), (1, fw_pairs.pairs.target_kps[j])):
            i = 2 * j + side
            spec = fw_pairs.specs[i]
            image = np.asarray(fw_pairs.load(i)[0], dtype=np.int32)
            away = dict(spec["pose"], cx=5.0, cy=5.0)  # the object off the canvas: the background alone
            empty = np.asarray(render_pose(spec["params"], away, spec["reference_r"]), dtype=np.int32)
            drawn = np.abs(image - empty).sum(axis=-1) > 30
            assert drawn.any()
            for x, y in kps[fw_pairs.pairs.valid[j]]:
                # within 2 px: a thin spike's tip (the bolt's) covers too little of its own pixel to show
                r0, c0 = int(np.floor(y)), int(np.floor(x))
                window = drawn[max(r0 - 2, 0) : r0 + 3, max(c0 - 2, 0) : c0 + 3]
                assert window.any(), (j, side, x, y)


def test_factorworld_pair_keypoints_move_by_the_recorded_pose_change(fw_pairs) -> None:
    pairs = fw_pairs.pairs
    for j in range(len(pairs)):
        a, b = fw_pairs.specs[2 * j]["pose"], fw_pairs.specs[2 * j + 1]["pose"]
        turn = np.deg2rad(b["angle"] - a["angle"])
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        scale = b["r"] / a["r"]
        expected = (pairs.source_kps[j] - [a["cx"] * 64, a["cy"] * 64]) @ rot.T * scale + [b["cx"] * 64, b["cy"] * 64]
        np.testing.assert_allclose(pairs.target_kps[j], expected, atol=1e-9)
        recorded = pairs.columns["rotation"][j]
        assert abs((b["angle"] - a["angle"] - recorded + 180) % 360 - 180) < 1e-3
        assert abs(np.log2(scale) - pairs.columns["log2_scale"][j]) < 1e-3
        n_vertices = len(outline(pairs.columns["shape"][j]))
        assert pairs.valid[j].sum() == min(n_vertices, 12)
        ok = pairs.valid[j]
        assert (pairs.source_kps[j][ok] > 0).all() and (pairs.target_kps[j][ok] < 64).all()
    assert pairs.normaliser.tolist() == [64.0] * len(pairs)


def test_factorworld_pair_objects_move_rigidly_pattern_included(fw_pairs) -> None:
    """Pose A's image mapped by the pose change matches pose B's inside the object, far better than unmoved."""
    better = 0
    for j in range(10):
        a_spec, b_spec = fw_pairs.specs[2 * j], fw_pairs.specs[2 * j + 1]
        a, b = a_spec["pose"], b_spec["pose"]
        image_a = fw_pairs.load(2 * j)[0]
        image_b = np.asarray(fw_pairs.load(2 * j + 1)[0], dtype=np.float64)
        turn = np.deg2rad(fw_pairs.pairs.columns["rotation"][j])
        s = b["r"] / a["r"]
        # target pixel q comes from source p = R(-turn) (q - cB) / s + cA (PIL wants that inverse map)
        inv = np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]]) / s
        offset = np.array([a["cx"], a["cy"]]) * 64 - inv @ (np.array([b["cx"], b["cy"]]) * 64)
        coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
        moved = np.asarray(image_a.transform((64, 64), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR),
                           dtype=np.float64)  # fmt: skip
        away = dict(b, cx=5.0, cy=5.0)
        empty = np.asarray(render_pose(b_spec["params"], away, b_spec["reference_r"]), dtype=np.float64)
        inside = np.abs(image_b - empty).sum(axis=-1) > 30
        # pixels well inside the object only (edges blur under resampling)
        core = inside & np.roll(inside, 1, 0) & np.roll(inside, -1, 0) & np.roll(inside, 1, 1) & np.roll(inside, -1, 1)
        if core.sum() < 20:
            continue
        rigid = np.abs(moved - image_b)[core].mean()
        still = np.abs(np.asarray(image_a, dtype=np.float64) - image_b)[core].mean()
        assert rigid < 25.0
        better += rigid < 0.5 * still
    assert better >= 8


def test_factorworld_pairs_are_deterministic_with_content_keys_from_parameters(fw_pairs) -> None:
    again = make_benchmark("factorworld_pairs(n=40, seed=0)", None).dataset()
    assert again.content_keys() == fw_pairs.content_keys() and len(set(again.content_keys())) == 80
    assert np.array_equal(np.asarray(again.load(7)[0]), np.asarray(fw_pairs.load(7)[0]))
    other = make_benchmark("factorworld_pairs(n=40, seed=1)", None).dataset()
    assert other.content_keys()[0] != fw_pairs.content_keys()[0]
    assert set(fw_pairs.pairs.columns["rotation_bin"]) <= {"0-45", "45-90", "90-135", "135-180"}
    part = fw_pairs.subset(list(range(10)))
    assert len(part.pairs) == 5 and part.content_keys() == fw_pairs.content_keys()[:10]
    with pytest.raises(SpecError, match="n must be an integer from 1 to 1000000"):
        make_benchmark("factorworld_pairs(n=0)", None)
