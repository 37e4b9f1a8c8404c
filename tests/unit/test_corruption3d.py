"""The 12 ImageNet-3DCC corruptions on real photos: identities, the paper's depth behaviour, oracles, determinism.

Oracles: a test-only port of 3DCC's depth-of-field code (below, marked), PIL's posterize (what 3DCC called),
scipy.ndimage shifts and affine maps for the camera paths, hand-computed fog and noise statistics, and FFmpeg's
own mp4 route through PyAV for the codec corruptions.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from scipy import ndimage

from tests.helpers import require_shared, sample_manifest
from zeroshift.errors import UsageError
from zeroshift.shifts.corruption3d import (
    DEPTH_NAMES,
    NAMES,
    apply_corruption3d,
    codec,
    corrupt3d,
    severity_params,
)
from zeroshift.shifts.corruption3d.motion import draw_path
from zeroshift.shifts.corruption3d.table import table

SIZE = 96


def photos(n: int, size: int = SIZE) -> list[np.ndarray]:
    """``n`` shared ImageNet photos, centre-cropped and resized to ``size``, as 8-bit floats in [0, 1]."""
    folder = require_shared("imagenet-samples")
    rows = [r for r in sample_manifest() if r["mode"] == "RGB"][: n * 7 : 7]
    out = []
    for row in rows:
        img = Image.open(folder / row["file"]).convert("RGB")
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
        out.append(np.asarray(img, dtype=np.float32) / np.float32(255.0))
    return out


def ramp_depth(size: int = SIZE, near: float = 0.02, far: float = 0.5) -> np.ndarray:
    """Depth growing from the bottom row (near) to the top row (far)."""
    return np.linspace(far, near, size, dtype=np.float32)[:, None] * np.ones((1, size), np.float32)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return photos(1)[0]


def test_the_table_holds_imagenet_3dccs_twelve_with_sources():
    assert set(NAMES) == {
        "near_focus", "far_focus", "fog_3d", "flash", "xy_motion_blur", "z_motion_blur",
        "low_light", "iso_noise", "color_quant", "bit_error", "h265_crf", "h265_abr",
    }  # fmt: skip
    assert set(DEPTH_NAMES) == {"near_focus", "far_focus", "fog_3d", "flash", "xy_motion_blur", "z_motion_blur"}
    assert all(table()[n].source for n in NAMES)
    # values read from the reference code
    assert severity_params("fog_3d", 5)["alpha"] == 20
    assert severity_params("near_focus", 1)["aperture"] == 3 and severity_params("far_focus", 1)["aperture"] == 1.5
    assert severity_params("h265_crf", 3)["crf"] == 32 and severity_params("h265_abr", 5)["divisor"] == 32
    assert severity_params("iso_noise", 1)["sigma"] == pytest.approx(0.7 * 0.08)


@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_parameters_give_the_image_back_bit_for_bit(name, photo):
    out = corrupt3d(photo, ramp_depth(), name, 0, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.array_equal(out, photo)
    # and every real severity changes it
    assert not np.array_equal(corrupt3d(photo, ramp_depth(), name, 3, np.random.default_rng(0)), photo)


@pytest.mark.parametrize("name", NAMES)
def test_a_rerun_with_the_same_generator_is_bit_equal(name, photo):
    a = corrupt3d(photo, ramp_depth(), name, 4, np.random.default_rng(7))
    b = corrupt3d(photo, ramp_depth(), name, 4, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("name", ["xy_motion_blur", "z_motion_blur", "iso_noise", "low_light", "bit_error"])
def test_random_corruptions_draw_from_the_generator(name, photo):
    outs = [corrupt3d(photo, ramp_depth(), name, 5, np.random.default_rng(s)) for s in range(4)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])


def test_depth_corruptions_refuse_a_missing_or_bad_depth_map(photo):
    with pytest.raises(ValueError, match="needs a depth map"):
        corrupt3d(photo, None, "fog_3d", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="does not match"):
        corrupt3d(photo, np.ones((8, 8), np.float32), "flash", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive"):
        corrupt3d(photo, np.zeros((SIZE, SIZE), np.float32), "near_focus", 1, np.random.default_rng(0))


# --- depth of field ---------------------------------------------------------------------------------------------
# TEST-ONLY ORACLE: a port of 3DCC's depth-of-field code (EPFL-VILAB/3DCommonCorruptions, create_3dcc/create_dof.py,
# CC-BY-NC 4.0), reduced to one image on the CPU: quantiles, circle of confusion, separable Gaussian blur stack and
# the 1 - dist^2 compositing, in torch as the reference. Used only to check zeroshift's numpy rewrite.
def _ref_gaussian(m: int, std: float) -> torch.Tensor:
    if m == 1:
        return torch.ones((1,), dtype=torch.float64)
    n = torch.arange(0, m, dtype=torch.float64) - (m - 1.0) / 2.0
    return torch.exp(-(n**2) / (2 * std * std))


def _ref_separable_gaussian(img: torch.Tensor, r: float, cutoff: int | None) -> torch.Tensor:
    if r < 1e-1:
        return img
    if cutoff is None:
        cutoff = int(r * 5)
        if cutoff % 2 == 0:
            cutoff += 1
    fil = _ref_gaussian(cutoff, r)
    filsum = fil.sum()
    fil = torch.stack([fil] * 3, dim=0)
    half = cutoff // 2
    img = torch.nn.functional.pad(img, (half, half, half, half), "replicate")
    out = torch.nn.functional.conv2d(img, fil.unsqueeze(1).unsqueeze(-2), groups=3) / filsum
    return torch.nn.functional.conv2d(out, fil.unsqueeze(1).unsqueeze(-1), groups=3) / filsum


def _ref_refocus(rgb: np.ndarray, depth: np.ndarray, aperture: float, focus_idx: int, scale: float) -> np.ndarray:
    img = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float64))
    d = torch.from_numpy(depth.astype(np.float64))[None]
    q = torch.arange(0, 9) / 8
    qv = torch.quantile(d.reshape(1, -1), q.double(), dim=1).permute(1, 0)  # (1, 9)
    qv[:, 0] -= 0.0001
    qv[:, -1] += 0.0001
    focus = qv[:, focus_idx : focus_idx + 1]
    radii = aperture * torch.abs(qv - focus) / qv * scale  # zeroshift scales radii from 224 px to the image
    cutoffs = [int(r * 3) + (1 - int(r * 3) % 2) for r in radii[0].tolist()]
    stack = torch.stack(
        [_ref_separable_gaussian(img, r, c) for r, c in zip(radii[0].tolist(), cutoffs, strict=True)], dim=1
    )
    flat = d.reshape(1, -1)
    right = torch.searchsorted(qv, flat)
    left = right - 1
    q_right = torch.gather(qv, 1, right).reshape(d.shape)
    q_left = torch.gather(qv, 1, left).reshape(d.shape)
    dist_left = (d - q_left) / (q_right - q_left)
    dist_right = (q_right - d) / (q_right - q_left)
    weights = torch.zeros((1, 9, 1, *d.shape[1:]), dtype=torch.float64)
    weights.scatter_(1, left.reshape(d.shape).unsqueeze(1).unsqueeze(2), (1 - dist_left**2).unsqueeze(1).unsqueeze(2))
    weights.scatter_(1, right.reshape(d.shape).unsqueeze(1).unsqueeze(2), (1 - dist_right**2).unsqueeze(1).unsqueeze(2))
    weights /= weights.sum(dim=1, keepdim=True)
    return (weights * stack).sum(dim=1)[0].numpy().transpose(1, 2, 0)


# END OF TEST-ONLY ORACLE


@pytest.mark.parametrize(("name", "severity"), [("near_focus", 1), ("near_focus", 5), ("far_focus", 3)])
def test_depth_of_field_matches_a_port_of_the_reference(name, severity, photo):
    rng = np.random.default_rng(3)
    depth = (ramp_depth() * rng.uniform(0.8, 1.2, (SIZE, SIZE))).astype(np.float32)  # many distinct depths
    params = severity_params(name, severity)
    expected = _ref_refocus(photo, depth, params["aperture"], params["focus_level"], SIZE / 224)
    out = corrupt3d(photo, depth, name, severity, np.random.default_rng(0))
    assert np.abs(out - np.clip(expected, 0, 1)).max() < 2e-5


def _sharpness(img: np.ndarray) -> float:
    return float(np.abs(ndimage.laplace(img.mean(axis=2))).mean())


def test_near_focus_keeps_the_focus_plane_and_blurs_the_rest_more_with_severity(photo):
    depth = np.full((SIZE, SIZE), 0.3, np.float32)
    depth[:, : SIZE // 2] = 0.02  # the near plane, where the lens focuses
    depth[:, SIZE // 2 :] = np.linspace(0.1, 0.5, SIZE // 2, dtype=np.float32)  # receding to the far limit
    outs = [corrupt3d(photo, depth, "near_focus", s, np.random.default_rng(0)) for s in range(1, 6)]
    near = np.s_[:, : SIZE // 2 - 1]
    far = np.s_[:, SIZE // 2 + 8 :]
    for out in outs:
        assert np.abs(out[near] - photo[near]).max() < 1e-6  # the in-focus plane is untouched
    sharp = [_sharpness(o[far]) for o in outs]
    assert _sharpness(photo[far]) > sharp[0] and all(a > b for a, b in pairwise(sharp))
    # far focus: the far end stays sharp, the near plane blurs
    far_out = corrupt3d(photo, depth, "far_focus", 5, np.random.default_rng(0))
    assert _sharpness(far_out[near]) < 0.6 * _sharpness(photo[near])


# --- fog and flash ------------------------------------------------------------------------------------------------
def test_fog_3d_is_the_scattering_model_on_a_hand_computed_case():
    img = np.zeros((2, 2, 3), np.float32)
    img[0] = 1.0  # mean 0.5: the fog colour
    depth = np.array([[0.25, 0.25], [0.05, 0.5]], np.float32)
    out = apply_corruption3d(img, depth, "fog_3d", {"alpha": 4.0}, None)
    t = np.exp(-1.0)  # alpha * d = 1 on the top row
    assert out[0, 0, 0] == pytest.approx(t * 1 + 0.5 * (1 - t), abs=1e-6)
    assert out[1, 0, 0] == pytest.approx(0.5 * (1 - np.exp(-0.2)), abs=1e-6)
    assert out[1, 1, 0] == pytest.approx(0.5 * (1 - np.exp(-2.0)), abs=1e-6)


def test_fog_3d_moves_pixels_towards_the_fog_colour_with_depth_and_severity(photo):
    depth = ramp_depth()
    fog_colour = photo.mean()
    gaps = []
    for s in range(1, 6):
        out = corrupt3d(photo, depth, "fog_3d", s, np.random.default_rng(0))
        ratio = np.abs(out - fog_colour) / np.maximum(np.abs(photo - fog_colour), 1e-3)
        rows = ratio.mean(axis=(1, 2))  # row 0 is the farthest
        assert all(a <= b + 1e-7 for a, b in pairwise(rows))  # nearer rows keep more of the image
        gaps.append(rows)
    assert all((a >= b - 1e-7).all() for a, b in pairwise(gaps))  # every row fogs more with severity
    assert gaps[0].mean() > gaps[-1].mean() + 0.1


def test_flash_brightens_near_surfaces_most_and_never_darkens(photo):
    depth = ramp_depth()
    outs = [corrupt3d(photo, depth, "flash", s, np.random.default_rng(0)) for s in range(1, 6)]
    for a, b in pairwise(outs):
        assert (b >= a - 1e-7).all()
    gain = (outs[2] - photo).mean(axis=(1, 2))
    assert gain[-1] > gain[SIZE // 2] > gain[0] >= 0  # bottom (near) > middle > top (far)


# --- camera motion ------------------------------------------------------------------------------------------------
def _shifted_mean(img: np.ndarray, du: float, dv: float, frames: int, steps: int) -> np.ndarray:
    """scipy oracle: the mean of ``frames`` copies translated by k/(steps-1) of (du, dv)."""
    out = [img]
    for k in range(1, frames):
        f = k / (steps - 1)
        out.append(ndimage.shift(img, (f * dv, f * du, 0), order=1, mode="nearest"))
    return np.mean(out, axis=0)


def test_xy_motion_moves_each_depth_plane_by_its_parallax():
    img = photos(1, 128)[0]
    depth = np.full((128, 128), 0.2, np.float32)
    depth[:, :64] = 0.02  # near plane: the path's reference point; the far plane moves ten times less
    params = severity_params("xy_motion_blur", 3)
    path = draw_path(params, 128, np.random.default_rng(5))
    out = corrupt3d(img, depth, "xy_motion_blur", 3, np.random.default_rng(5))
    frames, steps = params["frames"], params["steps"]
    near = _shifted_mean(img, path["u"], path["v"], frames, steps)
    far = _shifted_mean(img, path["u"] / 10, path["v"] / 10, frames, steps)
    rows = np.s_[25:103]
    assert np.abs(out[rows, 22:42] - near[rows, 22:42]).max() < 1e-4
    assert np.abs(out[rows, 80:110] - far[rows, 80:110]).max() < 1e-4
    assert abs(path["u"]) >= 50 / 512 * 128  # the reference's range of sideways shift


def test_z_motion_on_a_flat_scene_is_a_zoom_towards_the_centre():
    img = photos(1, 128)[0]
    depth = np.full((128, 128), 0.1, np.float32)
    params = severity_params("z_motion_blur", 2)
    path = draw_path(params, 128, np.random.default_rng(9))
    out = corrupt3d(img, depth, "z_motion_blur", 2, np.random.default_rng(9))
    c = (128 - 1) / 2
    frames = [img]
    for k in range(1, params["frames"]):
        f = k / (params["steps"] - 1)
        crop = 1 - f * (1 - path["s"])  # a flat scene: magnification 1 / crop, shift f (u, v)
        offset = [c - crop * (c + f * path["v"]), c - crop * (c + f * path["u"])]
        frames.append(
            np.stack(
                [
                    ndimage.affine_transform(img[..., ch], [crop, crop], offset, order=1, mode="nearest")
                    for ch in range(3)
                ],
                axis=-1,
            )
        )
    expected = np.mean(frames, axis=0)
    assert 0.5 <= path["s"] < 0.6
    assert np.abs(out[30:98, 30:98] - expected[30:98, 30:98]).max() < 1e-4


# --- sensor -------------------------------------------------------------------------------------------------------
def test_color_quant_is_pils_posterize(photo):
    pil = Image.fromarray(np.rint(photo * 255).astype(np.uint8))
    for s in range(1, 6):
        out = corrupt3d(photo, None, "color_quant", s, np.random.default_rng(0))
        expected = np.asarray(ImageOps.posterize(pil, 6 - s), dtype=np.float32) / 255
        assert np.array_equal(out, expected), s


def test_iso_noise_has_the_variance_of_its_shot_and_read_noise():
    grey = np.full((256, 256, 3), 0.5, np.float32)
    out = corrupt3d(grey, None, "iso_noise", 1, np.random.default_rng(0))
    # Poisson(0.5 * 25) / 25 has variance 0.5 / 25; the Gaussian adds 0.056^2 (clipping is negligible here)
    assert out.mean() == pytest.approx(0.5, abs=0.003)
    assert out.var() == pytest.approx(0.5 / 25 + 0.056**2, rel=0.04)


def test_low_light_darkens_by_its_level_and_gamma():
    img = np.full((256, 256, 3), 0.4, np.float32)
    img[:, :128] = 0.2
    img[:, 128:] = 0.6
    img[:8] = 0.4  # a middle grey strip
    out = corrupt3d(img, None, "low_light", 1, np.random.default_rng(0))
    # imadjust from [0.2, 0.6] to [0, 0.6] with gamma 2: 0.6 -> 0.6, 0.4 -> 0.6 * 0.5^2, 0.2 -> 0; then noise
    assert out[8:, 128:].mean() == pytest.approx(0.6, abs=0.004)
    assert out[:8].mean() == pytest.approx(0.15, abs=0.006)
    assert out[8:, :128].mean() < 0.02  # photon noise cannot make black negative: a small positive mean


# --- codecs -------------------------------------------------------------------------------------------------------
def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_h265_crf_equals_ffmpegs_own_mp4_route(tmp_path, photo):
    import av

    frame = np.rint(photo * 255).astype(np.uint8)
    path = tmp_path / "one.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "32", "x265-params": codec.X265_BASE}
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with av.open(str(path)) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    out = corrupt3d(photo, None, "h265_crf", 3, np.random.default_rng(0))
    assert np.array_equal(np.rint(out * 255).astype(np.uint8), decoded)


@pytest.mark.parametrize("name", ["h265_crf", "h265_abr"])
def test_h265_quality_falls_with_severity(name):
    imgs = photos(3)
    psnr = [np.mean([_psnr(corrupt3d(i, None, name, s, None), i) for i in imgs]) for s in range(1, 6)]
    assert all(a > b for a, b in pairwise(psnr)), psnr


def test_odd_sides_are_coded_and_cropped_back():
    img = photos(1, 65)[0][:, :63]
    out = corrupt3d(img, None, "h265_crf", 1, None)
    assert out.shape == (65, 63, 3) and _psnr(out, img) > 25


def test_bit_errors_damage_more_with_severity():
    imgs = photos(3)
    damage = []
    for s in range(1, 6):
        errs = [
            np.abs(corrupt3d(i, None, "bit_error", s, np.random.default_rng(k)) - i).mean()
            for i in imgs
            for k in range(4)
        ]
        damage.append(np.mean(errs))
    assert damage[0] < damage[2] < damage[4], damage


def test_bit_errors_hit_slice_data_only():
    frame = np.rint(photos(1)[0] * 255).astype(np.uint8)
    extradata, packets = codec.encode(frame, "libx264", "yuv420p", {"crf": "23", "x264-params": "slice-max-mbs=6"})
    hit = codec.corrupt_bytes(packets, 50.0, np.random.default_rng(0))
    spans = codec._nal_payloads(packets[0], codec.H264_SLICE_TYPES)
    assert len(spans) == SIZE // 16  # one slice per macroblock row
    changed = np.flatnonzero(np.frombuffer(hit[0], np.uint8) != np.frombuffer(packets[0], np.uint8))
    assert 20 < changed.size < 80
    inside = np.zeros(len(packets[0]), bool)
    for start, end in spans:
        inside[start:end] = True
    assert inside[changed].all()  # start codes, NAL headers and the encoder's SEI are never touched


def test_a_missing_codec_is_one_clear_line(photo):
    params = {**severity_params("h265_crf", 2), "encoder": "libx265_not_built"}
    with pytest.raises(UsageError, match="needs the FFmpeg encoder 'libx265_not_built'"):
        apply_corruption3d(photo, None, "h265_crf", params, None)
    params = {**severity_params("bit_error", 2), "decoder": "h264_not_built"}
    with pytest.raises(UsageError, match="decoder 'h264_not_built'"):
        apply_corruption3d(photo, None, "bit_error", params, np.random.default_rng(0))
