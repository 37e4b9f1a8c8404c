"""Depth sources: 3DCC's depth conventions, folders of maps, transformers depth models, FactorWorld's exact depth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from zeroshift.data import make_benchmark
from zeroshift.data.factorworld.depth import depth_spec, object_depth, render_depth
from zeroshift.data.factorworld.render import render
from zeroshift.depth import parse_depth_source
from zeroshift.depth.convert import align_depth, depth_from_inverse, depth_from_metric
from zeroshift.depth.folder import FolderDepth
from zeroshift.errors import DatasetError, ModelLoadError, SpecError, UsageError


# --- conventions --------------------------------------------------------------------------------------------------
def test_inverse_depth_follows_3dccs_imagenet_rule_by_hand():
    # a MiDaS map written as 16-bit PNG is 65535 * v; 3DCC: depth = min(1 / (png / 512 + 1e-6), 0.5)
    inverse = np.array([[10.0, 20.0], [30.0, 110.0]])  # v = 0, 0.1, 0.2, 1
    png = np.round((inverse - 10) / 100 * 65535)
    expected = np.minimum(1 / (png / 512 + 1e-6), 0.5)
    assert np.allclose(depth_from_inverse(inverse), expected, rtol=1e-4)
    assert depth_from_inverse(inverse)[0, 0] == 0.5 and depth_from_inverse(inverse)[1, 1] == pytest.approx(
        1 / 128, rel=1e-4
    )


def test_metric_depth_uses_taskonomys_units():
    assert depth_from_metric(np.array([1.5625, 15.625, -1.0, np.nan])).tolist() == pytest.approx([0.1, 0.5, 0.5, 0.5])


def test_a_map_of_the_uncropped_image_is_aligned_like_clips_geometry():
    depth = np.tile(np.arange(60, dtype=np.float32), (40, 1))  # 40 x 60: depth = column index
    out = align_depth(depth, (20, 20))  # shorter side 40 -> 20 (x0.5), then the centre 20 of 30 columns
    assert out.shape == (20, 20)
    assert out[10, 0] == pytest.approx(10 + 0.5, abs=0.3) and out[10, -1] == pytest.approx(48.5, abs=0.3)


# --- spec strings ---------------------------------------------------------------------------------------------------
def test_depth_specs_parse_to_canonical_strings(tmp_path):
    assert parse_depth_source("factorworld").canonical == "factorworld"
    spec = parse_depth_source(f"folder(path='{tmp_path}', kind='depth', scale=0.000125)")
    assert spec.canonical == f"folder(kind='depth', path='{tmp_path}', scale=0.000125)"
    assert parse_depth_source("dpt:Intel/dpt-hybrid-midas?revision=abc").canonical == (
        "dpt:Intel/dpt-hybrid-midas?revision=abc"
    )
    with pytest.raises(SpecError, match="did you mean 'depth_anything'"):
        parse_depth_source("depth_anythin:/x")
    with pytest.raises(SpecError, match="kind must be one of"):
        parse_depth_source("folder(path='/x', kind='disparity')")
    with pytest.raises(SpecError, match="names a model"):
        parse_depth_source("dpt")


# --- folders ------------------------------------------------------------------------------------------------------
def test_a_folder_of_16_bit_pngs_and_npy_maps_matches_images_by_path(tmp_path):
    (tmp_path / "n01").mkdir()
    (tmp_path / "n02").mkdir()
    inverse = np.tile(np.linspace(0, 65535, 8), (4, 1)).astype(np.uint16)  # as MiDaS writes it
    cv2.imwrite(str(tmp_path / "n01" / "a.png"), inverse)
    metric = np.full((4, 8), 3.125)
    np.save(tmp_path / "n02" / "b.npy", metric)
    maps = FolderDepth(str(tmp_path)).depth_rows(["n01/a.JPEG"])
    assert np.allclose(maps[0], depth_from_inverse(inverse.astype(float)))
    assert maps[0].dtype == np.float32 and maps[0][0, -1] == pytest.approx(1 / 128, rel=1e-3)
    metres = FolderDepth(str(tmp_path), kind="metric").depth_rows(["n02/b.JPEG"])[0]
    assert np.allclose(metres, 0.2)
    units = FolderDepth(str(tmp_path), kind="depth", scale=0.1).depth_rows(["n02/b.JPEG"])[0]
    assert np.allclose(units, 0.3125 if 0.3125 < 0.5 else 0.5)


def test_a_folder_missing_maps_names_how_many_and_the_first(tmp_path):
    (tmp_path / "n01").mkdir()
    np.save(tmp_path / "n01" / "a.npy", np.ones((2, 2)))
    with pytest.raises(DatasetError) as err:
        FolderDepth(str(tmp_path)).check_ids(["n01/a.JPEG", "n01/b.JPEG", "n02/c.JPEG"])
    message = str(err.value)
    assert "no map for 2 of 3 images (first: n01/b.JPEG" in message and "\n" not in message
    assert str(tmp_path / "n01" / "b.png") in message
    with pytest.raises(DatasetError, match="does not exist"):
        FolderDepth(str(tmp_path / "nope")).check_ids(["n01/a.JPEG"])


# --- transformers depth models ------------------------------------------------------------------------------------
def _tiny_dpt(folder, seed=0):
    import transformers

    config = transformers.DPTConfig(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=37, image_size=32,
        patch_size=8, backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[16, 32, 32, 64], fusion_hidden_size=16,
        reassemble_factors=[4, 2, 1, 0.5], head_in_index=-1,
    )  # fmt: skip
    torch.manual_seed(seed)
    transformers.DPTForDepthEstimation(config).save_pretrained(folder)
    transformers.DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False).save_pretrained(folder)
    return folder


def _tiny_depth_anything(folder):
    import transformers

    backbone = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=37, image_size=32,
        patch_size=8, out_indices=[1, 2, 3, 4], reshape_hidden_states=False,
    )  # fmt: skip
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone, reassemble_hidden_size=32, patch_size=8, neck_hidden_sizes=[16, 32, 32, 64],
        fusion_hidden_size=16, head_hidden_size=8,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.AutoModelForDepthEstimation.from_config(config).save_pretrained(folder)
    transformers.DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dpt_folder(tmp_path_factory):
    return _tiny_dpt(tmp_path_factory.mktemp("models") / "tiny-dpt")


def test_a_tiny_dpt_loads_offline_and_predicts_as_transformers_postprocesses(dpt_folder):
    import transformers

    source = parse_depth_source(f"dpt:{dpt_folder}")
    pixels = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    maps = source.depth_rows(pixels)
    assert [m.shape for m in maps] == [(40, 56), (40, 56)] and maps[0].dtype == np.float32
    assert all(m.min() > 0 and m.max() <= 0.5 for m in maps)
    # oracle: transformers' own processor, model and post-processing, then 3DCC's rule
    processor = transformers.AutoImageProcessor.from_pretrained(dpt_folder, local_files_only=True)
    model = transformers.DPTForDepthEstimation.from_pretrained(dpt_folder, local_files_only=True).eval()
    with torch.no_grad():
        out = model(**processor(images=list(pixels), do_rescale=False, return_tensors="pt"))
    post = processor.post_process_depth_estimation(out, target_sizes=[(40, 56)] * 2)
    for got, ref in zip(maps, post, strict=True):
        assert np.allclose(got, depth_from_inverse(ref["predicted_depth"].numpy()), atol=1e-6)
    ident = source.identity()
    assert ident["source"] == "dpt" and len(ident["folder_sha256"]) == 64
    assert source.load().output == "inverse" and source.protocol["output"] == "inverse"


def test_depth_anything_loads_under_its_own_scheme_only(tmp_path):
    folder = _tiny_depth_anything(tmp_path / "tiny-da")
    source = parse_depth_source(f"depth_anything:{folder}")
    assert source.depth_rows(torch.rand(1, 3, 32, 32))[0].shape == (32, 32)
    assert source.load().output == "inverse"  # a relative model: disparity
    with pytest.raises(ModelLoadError, match=f"name it depth_anything:{folder}"):
        parse_depth_source(f"dpt:{folder}").load()


def test_a_folder_that_is_not_a_depth_model_is_one_clear_line(tmp_path):
    import transformers

    clip = tmp_path / "tiny-clip"
    transformers.CLIPConfig().save_pretrained(clip)  # the config decides: no weights are read
    with pytest.raises(ModelLoadError) as err:
        parse_depth_source(f"dpt:{clip}").load()
    assert "holds a 'clip' model, not a depth model (depth models: depth_anything, dpt)" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="is not a transformers model folder"):
        parse_depth_source(f"dpt:{tmp_path / 'empty'}").load()
    with pytest.raises(ModelLoadError, match="no depth model folder"):
        parse_depth_source(f"dpt:{tmp_path / 'missing'}").load()


def test_weights_only_as_safetensors(tmp_path, dpt_folder):
    import shutil

    import transformers

    folder = tmp_path / "bin-only"
    shutil.copytree(dpt_folder, folder)
    model = transformers.DPTForDepthEstimation.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # a pickled checkpoint: never loaded
    with pytest.raises(ModelLoadError, match="safetensors"):
        parse_depth_source(f"dpt:{folder}").load()


# --- FactorWorld --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def factors():
    return make_benchmark("factorworld_factors(n=120)", None).dataset()


def test_factorworld_depth_is_a_stack_of_cards_aligned_with_the_pixels(factors):
    spec = depth_spec().raw
    checked = 0
    for p in factors.params:
        depth = render_depth(p)
        assert depth.shape == (64, 64) and np.array_equal(depth, render_depth(p))  # deterministic
        main = object_depth(p["obj"]["r"])
        assert depth.min() > 0.0 and depth.max() <= 0.5
        if p["occluder"]:
            x0, y0, x1, y1 = (int(round(v * 64)) for v in p["occluder"]["box"])
            box = depth[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
            assert box.size == 0 or np.allclose(box, main * spec["occluder_fraction"])
        f = p["factors"]
        if f["style"] != "filled" or p["bg"]["kind"] != "plain" or p["extras"] or p["occluder"] or p["word"]:
            continue
        if f["lighting"] != "normal" or p["obj"]["pattern"]:
            continue
        # a filled, plain-coloured object on a plain background: the card is where the object's colour is
        rgb = np.asarray(render(p), dtype=np.float32)
        painted = np.abs(rgb - np.asarray(p["obj"]["rgb"], np.float32)).max(axis=2) < 20
        background = np.abs(rgb - np.asarray(p["bg"]["rgb"], np.float32)).max(axis=2) < 20
        card = depth == np.float32(main)
        assert painted.sum() > 30 and card[painted].mean() > 0.98  # anti-aliased edges are neither
        assert not card[background].any()
        checked += 1
    assert checked >= 3


def test_drawing_depth_leaves_the_rgb_image_unchanged(factors):
    before = [np.asarray(render(p)) for p in factors.params[:20]]
    for p in factors.params[:20]:
        render_depth(p)
    after = [np.asarray(render(p)) for p in factors.params[:20]]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_the_factorworld_source_serves_factorworld_only(factors, tmp_path):
    source = parse_depth_source("factorworld")
    maps = source.rows(factors, [0, 5])
    assert np.array_equal(maps[1], render_depth(factors.params[5]))
    assert source.identity()["depth"] == depth_spec().key
    from zeroshift.data.imagenet import ImageNetVal

    (tmp_path / "imagenet" / "val" / "n01440764").mkdir(parents=True)
    img = np.zeros((8, 8, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "imagenet" / "val" / "n01440764" / "x.JPEG"), img)
    other = ImageNetVal(tmp_path).dataset()
    with pytest.raises(UsageError, match="FactorWorld benchmarks only; imagenet is not one"):
        source.check(other)
