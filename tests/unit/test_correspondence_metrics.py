"""Keypoint transfer and PCK: identity and translation pairs, a hand count, and probe3d's own arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zeroshift.data.correspondence import PairTable
from zeroshift.metrics.correspondence import correspondence_metrics, transfer_errors, transfer_keypoints


def by_name(values):
    return {v.name: v for v in values}


def cell_centres(n_cells: int, stride: float) -> np.ndarray:
    ys, xs = np.meshgrid(np.arange(n_cells), np.arange(n_cells), indexing="ij")
    return np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)


def test_identity_pairs_at_cell_centres_have_no_error_and_pck_one() -> None:
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(32, 8, 8)) for _ in range(3)]
    pts = cell_centres(8, 8.0)  # a 64 px image, 8 px cells
    table = PairTable.build([0, 1, 2], [0, 1, 2], [pts] * 3, [pts] * 3, [[64, 64]] * 3, [[64, 64]] * 3, [64.0] * 3)
    assert np.nanmax(transfer_errors(maps, table)) == 0.0
    values, protocol, columns = correspondence_metrics(maps, table, n_boot=50)
    named = by_name(values)
    for alpha in ("0.05", "0.10", "0.15"):
        assert named[f"pck@{alpha}"].value == 1.0
        assert named[f"pck@{alpha}"].details["n_keypoints"] == 3 * 64
    assert columns["pck@0.05"] == [1.0, 1.0, 1.0] and columns["n_keypoints"] == [64, 64, 64]
    assert protocol["n_pairs"] == 3 and protocol["convention"] == "centre" and protocol["upsample"] == 1


def test_identity_pairs_anywhere_land_within_one_cell() -> None:
    """With near-orthogonal random features the argmax is one of the four cells a keypoint is sampled from."""
    rng = np.random.default_rng(1)
    maps = [rng.normal(size=(2048, 32, 32))]  # a 256 px image, 8 px cells
    pts = rng.uniform(0, 256, size=(200, 2))
    table = PairTable.build([0], [0], [pts], [pts], [[256, 256]], [[256, 256]], [256.0])
    errors = transfer_errors(maps, table)
    assert np.nanmax(errors) <= 8 * np.sqrt(2)
    assert by_name(correspondence_metrics(maps, table, n_boot=0)[0])["pck@0.05"].value == 1.0  # 12.8 px > 11.3 px


def test_translation_of_a_fixed_random_field_gives_pck_one() -> None:
    """Features are a fixed random field over the scene; each image sees its own window, 4 px per cell."""
    rng = np.random.default_rng(2)
    field = rng.normal(size=(256, 24, 24))
    dx, dy = 5, 3  # cells: the target window starts 20 px right of and 12 px below the source window
    source, target = field[:, :16, :16], field[:, dy : dy + 16, dx : dx + 16]
    # points of the scene seen by both windows, in source pixels; the target sees them shifted back
    pts = np.column_stack([rng.uniform(4 * dx, 64, 300), rng.uniform(4 * dy, 64, 300)])
    shift = np.array([4 * dx, 4 * dy], dtype=float)
    table = PairTable.build([0], [1], [pts], [pts - shift], [[64, 64]], [[64, 64]], [64.0])
    errors = transfer_errors([source, target], table)
    assert np.nanmax(errors) <= 4 * np.sqrt(2) + 1e-9
    assert by_name(correspondence_metrics([source, target], table, n_boot=0)[0])["pck@0.10"].value == 1.0
    centres = cell_centres(16, 4.0)
    centres = centres[(centres[:, 0] > 4 * dx) & (centres[:, 1] > 4 * dy)]
    exact = PairTable.build([0], [1], [centres], [centres - shift], [[64, 64]], [[64, 64]], [64.0])
    assert np.nanmax(transfer_errors([source, target], exact)) == 0.0


def test_translation_equivariant_network_matches_every_pixel_of_a_shifted_image() -> None:
    """A circular-padding CNN commutes with circular shifts: a rolled image has rolled features, one per pixel."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 5, padding=2, padding_mode="circular"),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 5, padding=2, padding_mode="circular"),
    ).eval()
    image = torch.rand(1, 3, 32, 32)
    shift = (3, 7)  # rows, columns
    with torch.no_grad():
        source = net(image)[0].numpy()
        target = net(torch.roll(image, shifts=shift, dims=(2, 3)))[0].numpy()
    rng = np.random.default_rng(3)
    ij = rng.integers(0, [32 - shift[0], 32 - shift[1]], size=(100, 2))
    pts = np.column_stack([ij[:, 1] + 0.5, ij[:, 0] + 0.5])
    moved = pts + [shift[1], shift[0]]
    table = PairTable.build([0], [1], [pts], [moved], [[32, 32]], [[32, 32]], [32.0])
    assert np.nanmax(transfer_errors([source, target], table)) == 0.0
    values = by_name(correspondence_metrics([source, target], table, n_boot=0)[0])
    assert values["pck@0.05"].value == 1.0


def hand_case() -> tuple[list[np.ndarray], PairTable]:
    """Two pairs on 40x40 images with 2x2 maps (20 px cells) whose features pick each keypoint's own cell."""
    eye = np.eye(4).reshape(4, 2, 2)  # cell (r, c) holds unit vector 2r + c
    centres = [[10.0, 10.0], [30.0, 10.0], [10.0, 30.0], [30.0, 30.0]]
    # the predictions are the cell centres; the ground truth is placed at known distances from them
    truth_a = [[12.0, 10.0], [30.0, 18.0], [10.0, 30.0], [33.0, 34.0]]  # errors 2, 8, 0, 5
    truth_b = [[10.0, 13.0], [30.0, 10.0], [22.0, 30.0], [0.0, 0.0]]  # errors 3, 0, 12, (not valid)
    valid_b = [True, True, True, False]
    table = PairTable.build(
        [0, 1], [1, 0], [centres, centres], [truth_a, truth_b], [[40, 40]] * 2, [[40, 40]] * 2, [40.0, 40.0],
        valid=[[True] * 4, valid_b], columns={"category": ["cat", "dog"], "viewpoint_variation": [0, 2]},
        bins=("viewpoint_variation",),
    )  # fmt: skip
    return [eye, eye], table


def test_pck_equals_a_hand_count() -> None:
    maps, table = hand_case()
    errors = transfer_errors(maps, table)
    np.testing.assert_allclose(errors[0], [2, 8, 0, 5])
    np.testing.assert_allclose(errors[1, :3], [3, 0, 12])
    assert np.isnan(errors[1, 3])
    values, protocol, columns = correspondence_metrics(maps, table, n_boot=0)
    named = by_name(values)
    # thresholds 2, 4 and 6 px (normaliser 40); errors 2 8 0 5 | 3 0 12
    assert named["pck@0.05"].value == pytest.approx(3 / 7)  # 2, 0 | 0
    assert named["pck@0.10"].value == pytest.approx(4 / 7)  # 2, 0 | 3, 0
    assert named["pck@0.15"].value == pytest.approx(5 / 7)  # 2, 0, 5 | 3, 0
    assert named["pck@0.15"].details["per_image_mean"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert named["pck@0.10[viewpoint_variation=0]"].value == pytest.approx(2 / 4)
    assert named["pck@0.10[viewpoint_variation=2]"].value == pytest.approx(2 / 3)
    assert named["pck@0.05_category_mean"].value == pytest.approx((2 / 4 + 1 / 3) / 2)
    assert named["pck@0.05_category_mean"].details["per_category"] == pytest.approx({"cat": 0.5, "dog": 1 / 3})
    assert columns["pck@0.15"] == pytest.approx([3 / 4, 2 / 3])
    assert columns["n_keypoints"] == [4, 3] and columns["category"] == ["cat", "dog"]
    assert columns["mean_error_normalised"] == pytest.approx([15 / 4 / 40, 15 / 3 / 40])
    assert protocol["threshold"] == "error <= alpha * normaliser" and protocol["n_keypoints"] == 7


def test_probe3d_convention_is_strict_and_predicts_cell_corners() -> None:
    maps, table = hand_case()
    errors = transfer_errors(maps, table, convention="probe3d")
    # probe3d places a prediction at the cell's corner: (0, 0), (20, 0), (0, 20), (20, 20)
    np.testing.assert_allclose(errors[0], np.hypot([12 - 0, 30 - 20, 10 - 0, 33 - 20], [10, 18, 30 - 20, 34 - 20]))
    values = by_name(correspondence_metrics(maps, table, convention="probe3d", n_boot=0)[0])
    assert values["pck@0.05"].value == 0.0  # nothing is closer than 10 px to a corner


def test_bootstrap_interval_over_pairs_brackets_the_value() -> None:
    rng = np.random.default_rng(4)
    maps = [rng.normal(size=(16, 4, 4)) for _ in range(40)]
    pts = rng.uniform(0, 32, size=(20, 6, 2))
    table = PairTable.build(
        list(range(0, 40, 2)), list(range(1, 40, 2)), pts, pts, [[32, 32]] * 20, [[32, 32]] * 20, [32.0] * 20
    )
    values = by_name(correspondence_metrics(maps, table, n_boot=300, seed=1)[0])
    v = values["pck@0.15"]
    assert 0.0 < v.value < 1.0 and v.ci_low < v.value < v.ci_high
    again = by_name(correspondence_metrics(maps, table, n_boot=300, seed=1)[0])["pck@0.15"]
    assert (again.ci_low, again.ci_high) == (v.ci_low, v.ci_high)


def smooth_field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth field with a unique value at every point of [0, 64]^2 (low frequencies, many phases)."""
    freqs = np.linspace(0.5, 3.0, 8) * 2 * np.pi / 64
    parts = [f(w * x + p) for w in freqs for f in (np.sin, np.cos) for p in (0.0, 1.0)]
    parts += [f(w * y + p) for w in freqs for f in (np.sin, np.cos) for p in (0.0, 1.0)]
    return np.stack(parts)


def test_upsampling_the_target_map_refines_matches_of_a_smooth_field() -> None:
    stride, n = 8.0, 8
    centres = (np.arange(n) + 0.5) * stride
    xs, ys = np.meshgrid(centres, centres)
    t = np.array([3.0, 5.0])  # a translation that is not a whole number of cells
    source = smooth_field(xs, ys)
    target = smooth_field(xs + t[0], ys + t[1])  # the target image shows the scene moved by -t
    rng = np.random.default_rng(5)
    pts = rng.uniform(12, 52, size=(100, 2))
    table = PairTable.build([0], [1], [pts], [pts - t], [[64, 64]], [[64, 64]], [64.0])
    coarse = transfer_errors([source, target], table)
    fine = transfer_errors([source, target], table, upsample=4)
    assert np.nanmean(fine) < 0.6 * np.nanmean(coarse)
    values, protocol, _ = correspondence_metrics([source, target], table, upsample=4, n_boot=0)
    assert protocol["upsample"] == 4 and protocol["upsample_mode"].startswith("bilinear")


def test_padding_cells_are_never_predicted() -> None:
    """A 40x20 image is letterboxed to 40x40: the lower half of a 2x2 map is padding, never a candidate."""
    target = np.zeros((2, 2, 2))
    target[0, 1, 0] = 1.0  # the best match sits in the padding
    target[1, 0, 1] = 1.0
    target[0, 0, 0] = 0.5
    target[1, 0, 0] = 0.1
    source = np.zeros((2, 2, 2))
    source[0] = 1.0
    pred = transfer_keypoints(source, target, [[10.0, 10.0]], (40, 20), (40, 20))
    assert pred.tolist() == [[10.0, 10.0]]
    corner = transfer_keypoints(source, target, [[10.0, 10.0]], (40, 20), (40, 20), convention="probe3d")
    assert corner.tolist() == [[0.0, 20.0]]


# ---------------------------------------------------------------------------------------------------------------
# Test-only port of probe3d's SPair keypoint transfer (mbanani/probe3d, evaluate_spair_correspondence.py,
# compute_errors, the ``error_same`` path; MIT licence), written for this test as an oracle: square images of side
# S, keypoints in input pixels, errors divided by thresh_scale = max bbox side / max image side.
def probe3d_errors(feats_i, feats_j, kps_i, kps_j, image_side, thresh_scale):
    feats = F.normalize(torch.stack([feats_i, feats_j]), p=2, dim=1)
    kps_i = kps_i / image_side
    kps_j = kps_j / image_side
    ndc = (kps_i * 2 - 1)[None, None].float()
    kp_f = F.grid_sample(feats[0][None], ndc, mode="bilinear", align_corners=True)[0, :, 0].t()
    heat = torch.einsum("kf,fhw->khw", kp_f, feats[1])
    h, w = heat.shape[-2:]
    flat = heat.flatten(start_dim=-2).argmax(dim=-1)
    pred = torch.stack((flat % w, flat // w), dim=-1).float() / feats.shape[-1]
    return (pred - kps_j).norm(p=2, dim=-1) / thresh_scale


# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size_wh", [(120, 90), (70, 100)])
def test_probe3d_convention_reproduces_probe3d_errors(size_wh) -> None:
    rng = np.random.default_rng(6)
    side_in = 112  # probe3d's input side; a 7x7 map of 16 px patches
    maps = [rng.normal(size=(24, 7, 7)).astype(np.float32) for _ in range(2)]
    src = rng.uniform(0, max(size_wh), size=(15, 2)) * [size_wh[0] / max(size_wh), size_wh[1] / max(size_wh)]
    trg = rng.uniform(0, max(size_wh), size=(15, 2)) * [size_wh[0] / max(size_wh), size_wh[1] / max(size_wh)]
    bbox_side = 50.0
    table = PairTable.build([0], [1], [src], [trg], [size_wh], [size_wh], [bbox_side])
    ours = transfer_errors(maps, table, convention="probe3d")[0] / bbox_side
    scale = side_in / max(size_wh)
    theirs = probe3d_errors(
        torch.from_numpy(maps[0]), torch.from_numpy(maps[1]), torch.from_numpy(src * scale),
        torch.from_numpy(trg * scale), side_in, bbox_side / max(size_wh),
    ).numpy()  # fmt: skip
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    recall = by_name(correspondence_metrics(maps, table, convention="probe3d", alphas=(0.1,), n_boot=0)[0])
    assert recall["pck@0.10"].value == pytest.approx(float((theirs < 0.1).mean()))


def test_pairs_without_valid_keypoints_count_nowhere() -> None:
    maps = [np.eye(4).reshape(4, 2, 2)] * 2
    pts = [[10.0, 10.0]]
    table = PairTable.build([0, 0], [1, 1], [pts, pts], [pts, pts], [[40, 40]] * 2, [[40, 40]] * 2, [40.0, 40.0],
                            valid=[[True], [False]])  # fmt: skip
    values, protocol, columns = correspondence_metrics(maps, table, n_boot=0)
    assert by_name(values)["pck@0.05"].details["n_keypoints"] == 1
    assert protocol["pairs_without_keypoints"] == 1 and np.isnan(columns["pck@0.05"][1])


def test_bad_options_fail_clearly() -> None:
    maps, table = hand_case()
    with pytest.raises(ValueError, match="convention must be one of"):
        correspondence_metrics(maps, table, convention="corner")
    with pytest.raises(ValueError, match="upsample must be a positive integer"):
        transfer_keypoints(maps[0], maps[1], [[1.0, 1.0]], (40, 40), (40, 40), upsample=0)
