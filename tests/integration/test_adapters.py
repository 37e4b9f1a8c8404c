"""Every backend through its real loading code: random weights saved and reloaded, local folders offline."""

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from tests.helpers import make_tiny_hf_model
from zeroshift.errors import ModelLoadError
from zeroshift.models import resolve_model


def image_batch(model, n=2):
    images = [Image.new("RGB", (60 + 10 * i, 50), (30 * i, 100, 200)) for i in range(n)]
    return model.preprocess.normalize(torch.stack([model.preprocess.geometry(im) for im in images]))


@pytest.fixture(scope="module")
def open_clip_checkpoint(tmp_path_factory):
    """ViT-B-32 with seeded random weights, saved with torch.save (the shape of a real checkpoint)."""
    model = resolve_model("random:open_clip/ViT-B-32?seed=0").load()
    path = tmp_path_factory.mktemp("ckpt") / "vit_b_32_random.pt"
    torch.save(model.module.state_dict(), path)
    return model, path


def test_open_clip_local_checkpoint_reproduces_the_model(open_clip_checkpoint):
    original, path = open_clip_checkpoint
    handle = resolve_model(f"open_clip:ViT-B-32@{path}")
    assert handle.identity["weights_sha256"] and "tag" not in handle.identity
    loaded = handle.load()
    x = image_batch(loaded)
    with torch.inference_mode():
        assert torch.allclose(loaded.encode_image(x), original.encode_image(x), atol=1e-6)
        text = loaded.encode_text(["a photo of a goldfish.", "a photo of a tench."])
    assert text.shape == (2, 512) and torch.allclose(text.norm(dim=-1), torch.ones(2))
    assert loaded.preprocess.config["resize"] == 224 and loaded.preprocess.config["crop"] == [224, 224]
    assert loaded.kind == "zero_shot" and loaded.info.family == "ViT" and loaded.info.params > 80_000_000
    assert abs(loaded.logit_scale - 1 / 0.07) < 1e-3  # open_clip's initial temperature


def test_open_clip_mismatched_checkpoint_fails_loudly(open_clip_checkpoint, tmp_path):
    _, path = open_clip_checkpoint
    state = torch.load(path, weights_only=True)
    state.pop("visual.proj")
    broken = tmp_path / "broken.pt"
    torch.save(state, broken)
    with pytest.raises(ModelLoadError, match="do not fit ViT-B-32"):
        resolve_model(f"open_clip:ViT-B-32@{broken}").load()
    with pytest.raises(ModelLoadError, match="do not fit ViT-B-16"):
        resolve_model(f"open_clip:ViT-B-16@{path}").load()


def test_open_clip_names_and_offline_tags():
    with pytest.raises(ModelLoadError, match="did you mean 'ViT-B-32'"):
        resolve_model("open_clip:ViT-B-33@openai").load()
    with pytest.raises(ModelLoadError, match="no pretrained tag 'laion2b_s34b_b80k'; did you mean"):
        resolve_model("open_clip:ViT-B-32@laion2b_s34b_b80k").load()
    with pytest.raises(ModelLoadError, match="give a pretrained tag or a weights path"):
        resolve_model("open_clip:ViT-B-32").load()
    with pytest.raises(ModelLoadError, match="no weights file"):
        resolve_model("open_clip:ViT-B-32@/does/not/exist.pt")


def test_random_open_clip_is_seeded():
    a = resolve_model("random:open_clip/ViT-B-32?seed=1")
    b = resolve_model("random:open_clip/ViT-B-32?seed=2")
    assert (
        a.fingerprint != b.fingerprint
        and a.fingerprint == resolve_model("random:open_clip/ViT-B-32?seed=1").fingerprint
    )


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_hf_local_folder_loads_offline(tmp_path, kind, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = make_tiny_hf_model(tmp_path / kind, kind)
    handle = resolve_model(f"hf:{folder}")
    model = handle.load()
    assert model.model_type == kind and model.kind == "zero_shot"
    with torch.inference_mode():
        feats = model.encode_image(image_batch(model, 3))
        text = model.encode_text(["a photo of a goldfish.", "a tench"])
    assert feats.shape[0] == 3 and torch.allclose(feats.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert text.shape == (2, feats.shape[1])
    # the geometry is the model's own processor without normalisation: pixels stay in [0, 1]
    pixels = model.preprocess.geometry(Image.new("RGB", (80, 40), (255, 255, 255)))
    assert pixels.shape == (3, 32, 32) and float(pixels.max()) <= 1.0 and float(pixels.min()) >= 0.99
    # the same folder through random: gives different, seeded weights
    rnd = resolve_model(f"random:hf/{folder}?seed=5").load()
    with torch.inference_mode():
        assert not torch.allclose(rnd.encode_image(image_batch(rnd, 3)), feats)
    assert handle.identity["folder_sha256"]


def test_hf_errors_are_one_line(tmp_path):
    with pytest.raises(ModelLoadError, match="no model folder"):
        resolve_model(f"hf:{tmp_path}/absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no transformers config"):
        resolve_model(f"hf:{tmp_path}/empty").load()
    with pytest.raises(ModelLoadError, match="could not load 'openai/clip-vit-base-patch32'"):
        resolve_model("hf:openai/clip-vit-base-patch32").load()


def test_timm_random_and_local_weights(tmp_path):
    model = resolve_model("random:timm/resnet18?seed=0").load()
    assert model.kind == "fixed_head" and model.universe == "imagenet1k" and model.info.family == "ResNet"
    x = image_batch(model)
    with torch.inference_mode():
        logits = model.encode_image(x)
    assert logits.shape == (2, 1000)
    path = tmp_path / "resnet18.safetensors"
    save_file(model.module.state_dict(), path)
    local = resolve_model(f"timm:resnet18@{path}").load()
    with torch.inference_mode():
        assert torch.allclose(local.encode_image(x), logits, atol=1e-5)
    assert local.info.training_data is None  # unknown weights: no metadata invented


def test_timm_errors_and_metadata():
    with pytest.raises(ModelLoadError, match="unknown timm model 'resnet5000'"):
        resolve_model("timm:resnet5000").load()
    with pytest.raises(ModelLoadError, match="could not fetch pretrained weights"):
        resolve_model("timm:resnet18.a1_in1k").load()


def test_unknown_scheme_suggests():
    with pytest.raises(Exception, match="did you mean 'open_clip'"):
        resolve_model("openclip:ViT-B-32@openai")
