"""The zoo: tokenizer, losses against their formulas, the shipped weights and their six-factor metadata."""

from __future__ import annotations

import math

import pytest
import torch
from typer.testing import CliRunner

import zeroshift
from zeroshift.cli.main import app
from zeroshift.errors import ModelLoadError
from zeroshift.models import resolve_model
from zeroshift.models.zoo import ZooModel, _manifest
from zeroshift.specs import ModelSpec
from zeroshift.zoo.nets import clip_loss, siglip_loss
from zeroshift.zoo.tokenizer import UNK, WordTokenizer
from zeroshift.zoo.train import shipped_dir


def test_tokenizer_pads_and_maps_unknown_words():
    tok = WordTokenizer(["a", "star", "red"])
    ids = tok.encode(["A red star!", "itap of a star", "???"])
    assert ids.tolist() == [[2, 4, 3, 0], [UNK, UNK, 2, 3], [UNK, 0, 0, 0]]


def test_clip_loss_is_the_symmetric_cross_entropy():
    g = torch.Generator().manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=1)
    txt = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=1)
    scale = 7.0
    total = 0.0
    for i in range(5):
        row = [scale * float(img[i] @ txt[j]) for j in range(5)]
        col = [scale * float(img[j] @ txt[i]) for j in range(5)]
        total += -(row[i] - math.log(sum(math.exp(v) for v in row))) / 2
        total += -(col[i] - math.log(sum(math.exp(v) for v in col))) / 2
    assert float(clip_loss(img, txt, torch.tensor(scale))) == pytest.approx(total / 5, rel=1e-5)


def test_siglip_loss_is_the_pairwise_sigmoid_loss():
    g = torch.Generator().manual_seed(1)
    img = torch.nn.functional.normalize(torch.randn(4, 3, generator=g), dim=1)
    txt = torch.nn.functional.normalize(torch.randn(4, 3, generator=g), dim=1)
    t, b = torch.tensor(10.0), torch.tensor(-5.0)
    total = 0.0
    for i in range(4):
        for j in range(4):
            z = 1.0 if i == j else -1.0
            total += math.log(1 + math.exp(-z * (float(t) * float(img[i] @ txt[j]) + float(b))))
    assert float(siglip_loss(img, txt, t, b)) == pytest.approx(total / 4, rel=1e-5)


def test_shipped_zoo_is_light_and_varies_the_six_factors():
    models = _manifest()["models"]
    files = sorted(shipped_dir().glob("*.safetensors"))
    assert {f.name for f in files} == {m["file"] for m in models.values()}
    assert sum(f.stat().st_size for f in files) < 5_000_000
    assert all(f.stat().st_size < 1_100_000 for f in files)
    clip = [m["info"] for m in models.values() if m["kind"] == "zero_shot"]
    sup = [m["info"] for m in models.values() if m["kind"] == "fixed_head"]
    assert {i["family"] for i in clip} == {"CNN", "ViT"}
    assert {i["extra"]["distribution"] for i in clip} == {"diverse", "narrow"}
    assert len({i["data_size"] for i in clip if i["extra"]["distribution"] == "diverse"}) >= 2
    assert {i["loss"] for i in clip} == {"contrastive", "sigmoid"}
    assert {i["fine_tuned"] for i in clip} == {True, False}
    assert len(sup) >= 3 and len({i["params"] for i in sup}) == len(sup)
    assert {i["loss"] for i in sup} == {"supervised"}


@pytest.mark.parametrize("name", ZooModel.names())
def test_every_shipped_model_loads_with_its_metadata(name):
    model = ZooModel.load(ModelSpec.parse(f"zoo:{name}"))
    entry = _manifest()["models"][name]
    assert model.kind == entry["kind"]
    assert model.info.source == "zoo" and model.info.params == entry["info"]["params"]
    assert model.info.training_data.startswith("FactorWorld-")
    with torch.inference_mode():
        out = model.encode_image(torch.zeros(2, 3, 64, 64))
        if model.kind == "zero_shot":
            assert torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-4)
            text = model.encode_text(["a photo of a star.", "a bad photo of a hexagon."])
            assert text.shape == (2, out.shape[1])
            assert model.logit_scale > 1
        else:
            assert out.shape == (2, 16) and model.universe == "factorworld"


def test_zoo_specs_fingerprint_without_loading_and_fail_in_one_line(tmp_path):
    handle = resolve_model("zoo:clip-cnn-diverse")
    assert (
        not handle.loaded and handle.identity["weights_sha256"] == _manifest()["models"]["clip-cnn-diverse"]["sha256"]
    )
    with pytest.raises(ModelLoadError, match="did you mean 'clip-cnn-diverse'"):
        resolve_model("zoo:clip-cnn-divers")
    with pytest.raises(ModelLoadError, match="no weights file"):
        resolve_model(f"zoo:clip-cnn-diverse@{tmp_path}/missing.safetensors")
    bogus = tmp_path / "x.safetensors"
    bogus.write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match="cannot read"):
        ZooModel.load(ModelSpec.parse(f"zoo:x@{bogus}"))


def test_list_models_and_ls_show_the_zoo():
    assert "zoo:clip-vit-diverse" in zeroshift.list_models()
    result = CliRunner().invoke(app, ["zoo", "ls"])
    assert result.exit_code == 0 and "siglip-cnn-diverse" in result.output
    from zeroshift.zoo.hf_zoo import hf_zoo_names

    assert all(name in result.output for name in hf_zoo_names())  # the transformers-format zoo is listed too
