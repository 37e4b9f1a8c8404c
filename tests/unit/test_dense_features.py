"""Dense features of every backend, each checked against a computation that does not go through encode_dense:
the model's own forward pass (hooks, its head applied to the map, transformers' outputs) or a test-only port."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tests import tiny_open_clip
from tests.helpers import make_tiny_hf_model
from zeroshift.errors import SpecError
from zeroshift.models import resolve_model
from zeroshift.models.base import ZeroShotModel
from zeroshift.models.dense import DenseGeometry, dense_features


@pytest.fixture(scope="module")
def open_clip_models():
    tiny_open_clip.register()
    return {
        name: resolve_model(spec).load()
        for name, spec in (
            ("vit", tiny_open_clip.TINY_VIT),
            ("rn", tiny_open_clip.TINY_RN),
            ("convnext", tiny_open_clip.TINY_CONVNEXT),
        )
    }


def pixels(side: int, n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, side, side, generator=torch.Generator().manual_seed(seed))


# Test-only port of probe3d's open_clip ViT features (mbanani/probe3d, evals/models/clip.py, CLIP.forward with
# output="dense" at the model's native size; MIT licence): conv1, class token, positions, ln_pre, the blocks up to
# the chosen one, class token dropped, tokens reshaped to the patch grid.
def probe3d_clip_dense(visual, images, layer):
    x = visual.conv1(images)
    h, w = x.shape[-2:]
    x = x.flatten(2).transpose(1, 2)
    cls = visual.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1)
    x = torch.cat([cls.to(x.dtype), x], dim=1)
    x = visual.ln_pre(x + visual.positional_embedding.to(x.dtype))
    for i, blk in enumerate(visual.transformer.resblocks):
        x = blk(x)
        if i == layer:
            break
    return x[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, h, w)


@pytest.mark.parametrize("layer", [-1, -2])
def test_open_clip_vit_gives_probe3d_patch_tokens(open_clip_models, layer) -> None:
    vit = open_clip_models["vit"]
    x = pixels(64)
    with torch.inference_mode():
        ours = vit.encode_dense(x, layer=layer)
        theirs = probe3d_clip_dense(vit.module.visual, x, len(vit.module.visual.transformer.resblocks) + layer)
    assert ours.shape == (2, 64, 4, 4)  # width 64, 64 px / 16 px patches
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    record = vit.dense_record(layer)
    assert record["normalised"] is False and record["projection"] is False and record["input_side"] == 64
    assert record["layer_index"] == 2 + layer and record["n_layers"] == 2


def test_open_clip_modified_resnet_gives_the_map_attnpool_pools(open_clip_models) -> None:
    rn = open_clip_models["rn"]
    visual = rn.module.visual
    x = pixels(64)
    with torch.inference_mode():
        last = rn.encode_dense(x)
        before = rn.encode_dense(x, layer=-2)
        stem_to_layer3 = visual.layer3(visual.layer2(visual.layer1(visual.stem(x))))
        embedding = rn.module.encode_image(x, normalize=False)
    torch.testing.assert_close(before, stem_to_layer3)
    torch.testing.assert_close(visual.attnpool(last), embedding, rtol=1e-5, atol=1e-5)
    assert last.shape == (2, 512, 2, 2)  # layer4 of a width-16 ModifiedResNet at 1/32 of 64 px
    assert "before attnpool" in rn.dense_record()["source"]


def test_open_clip_convnext_trunk_gives_the_map_its_head_pools(open_clip_models) -> None:
    model = open_clip_models["convnext"]
    visual = model.module.visual
    x = pixels(64)
    with torch.inference_mode():
        last = model.encode_dense(x)
        pooled = visual.head(visual.trunk.forward_head(last))
        embedding = model.module.encode_image(x, normalize=False)
    torch.testing.assert_close(pooled, embedding, rtol=1e-5, atol=1e-5)
    assert last.shape[-2:] == (2, 2) and model.dense_record()["n_layers"] == 4


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf")
    return {kind: resolve_model(f"hf:{make_tiny_hf_model(folder / kind, kind)}").load() for kind in ("clip", "siglip")}


def test_hf_clip_patch_tokens_are_last_hidden_state_without_the_class_token(hf_models) -> None:
    model = hf_models["clip"]
    x = pixels(32)
    with torch.inference_mode():
        ours = model.encode_dense(x)
        out = model.module.vision_model(pixel_values=x, output_hidden_states=True)
        second = model.encode_dense(x, layer=-2)
    expected = out.last_hidden_state[:, 1:].transpose(1, 2).reshape(2, 32, 4, 4)
    torch.testing.assert_close(ours, expected)
    torch.testing.assert_close(second[:, :, 1, 2], out.hidden_states[-2][:, 1 + 1 * 4 + 2])
    assert model.dense_record(-2)["layer_index"] == 0


def test_hf_siglip_patch_tokens_are_block_outputs_before_post_layernorm(hf_models) -> None:
    model = hf_models["siglip"]
    x = pixels(32)
    with torch.inference_mode():
        ours = model.encode_dense(x)
        out = model.module.vision_model(pixel_values=x)
        normed = model.module.vision_model.post_layernorm(ours.flatten(2).transpose(1, 2))
    torch.testing.assert_close(normed, out.last_hidden_state)  # no class token: all 16 tokens are patches


@pytest.mark.parametrize("name", ["test_vit", "test_convnext", "test_resnet"])
def test_timm_maps_are_forward_features_before_the_final_norm(name) -> None:
    model = resolve_model(f"random:timm/{name}?seed=0").load()
    module = model.module
    x = pixels(model.dense_input_size, n=1)
    with torch.inference_mode():
        ours = model.encode_dense(x)
        features = module.forward_features(x)
        if name == "test_vit":  # tokens: the final norm of forward_features applied to our map
            prefix = module.num_prefix_tokens
            torch.testing.assert_close(module.norm(ours.flatten(2).transpose(1, 2)), features[:, prefix:])
        else:
            torch.testing.assert_close(ours, features)
    assert model.supports_dense and ours.shape[-1] == model.dense_input_size // 32 * (2 if name == "test_vit" else 1)


@pytest.fixture(scope="module")
def zoo():
    return {name: resolve_model(f"zoo:{name}").load() for name in ("clip-cnn-diverse", "clip-vit-diverse")}


def test_zoo_cnn_map_is_what_its_pooling_and_projection_see(zoo) -> None:
    model = zoo["clip-cnn-diverse"]
    x = pixels(64)
    with torch.inference_mode():
        last = model.encode_dense(x)
        embedding = torch.nn.functional.normalize(model.module.image.proj(last.mean(dim=(2, 3))), dim=-1)
        middle = model.encode_dense(x, layer=-2)
    torch.testing.assert_close(embedding, model.encode_image(x), rtol=1e-5, atol=1e-6)
    assert last.shape == (2, 96, 4, 4) and middle.shape == (2, 48, 8, 8)


def test_zoo_vit_tokens_equal_the_last_blocks_output(zoo) -> None:
    model = zoo["clip-vit-diverse"]
    seen = {}
    hook = model.module.image.blocks.layers[-1].register_forward_hook(lambda m, i, o: seen.update(out=o))
    x = pixels(64)
    try:
        with torch.inference_mode():
            model.encode_image(x)
            ours = model.encode_dense(x)
    finally:
        hook.remove()
    expected = seen["out"][:, 1:].transpose(1, 2).reshape(2, 64, 8, 8)
    torch.testing.assert_close(ours, expected)


def test_bad_layers_and_models_without_dense_features_fail_in_one_line(zoo) -> None:
    with pytest.raises(SpecError, match=r"layer must be a negative index from -1 to -3 .*got -4"):
        zoo["clip-cnn-diverse"].encode_dense(pixels(64), layer=-4)
    with pytest.raises(SpecError, match="got 0"):
        zoo["clip-vit-diverse"].encode_dense(pixels(64), layer=0)

    class NoMaps(ZeroShotModel):
        spec = "plain:model"
        identity = load = encode_image = None

    model = NoMaps.__new__(NoMaps)
    assert not model.supports_dense
    with pytest.raises(SpecError, match="plain:model: dense features .* are not available"):
        model.encode_dense(pixels(8))


def test_letterbox_geometry_keeps_the_top_left_and_maps_points_by_one_scale() -> None:
    image = Image.new("RGB", (40, 20), (10, 200, 30))
    geometry = DenseGeometry(20)
    tensor = geometry(image)
    assert tensor.shape == (3, 20, 20)
    assert torch.allclose(tensor[:, :7, :], torch.tensor([10, 200, 30]).view(3, 1, 1) / 255.0, atol=2 / 255)
    assert torch.allclose(
        tensor[:, 13:, :], torch.ones(1), atol=1 / 255
    )  # white padding below (bicubic rings near the edge)
    np.testing.assert_allclose(geometry.to_input([[40.0, 20.0], [10.0, 5.0]], (40, 20)), [[20.0, 10.0], [5.0, 2.5]])
    np.testing.assert_allclose(geometry.from_input(geometry.to_input([[3.0, 7.0]], (40, 20)), (40, 20)), [[3, 7]])


def test_dense_features_of_a_wide_image_equal_those_of_its_padded_square(zoo) -> None:
    model = zoo["clip-cnn-diverse"]
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
    square = Image.new("RGB", (64, 64), (255, 255, 255))
    square.paste(wide, (0, 0))
    a, b = dense_features(model, [wide, square], layer=-2)
    np.testing.assert_array_equal(a, b)
