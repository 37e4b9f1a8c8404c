"""The lmm: adapter on bad input: one clear line (a UsageError, exit code 2 in the CLI), checked up front."""

import numpy as np
import pytest
from PIL import Image

from tests.tiny_llava import save_tiny_llava
from zeroshift.errors import ModelLoadError, UsageError
from zeroshift.lmm.templates import AnswerTemplate
from zeroshift.models import resolve_model


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return save_tiny_llava(tmp_path_factory.mktemp("llava") / "tiny")


def one_line(err):
    text = str(err.value)
    assert "\n" not in text and isinstance(err.value, UsageError)
    return text


def test_a_clip_folder_is_not_an_lmm(tmp_path):
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        text_config={"vocab_size": 20, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
                     "num_attention_heads": 2},
        vision_config={"image_size": 8, "patch_size": 4, "hidden_size": 8, "intermediate_size": 8,
                       "num_hidden_layers": 1, "num_attention_heads": 2},
        projection_dim=8,
    )  # fmt: skip
    CLIPModel(config).save_pretrained(tmp_path / "clip")
    with pytest.raises(ModelLoadError) as err:
        resolve_model(f"lmm:{tmp_path / 'clip'}").load()
    assert "is not an LMM of the LLaVA family: model type 'clip' (a CLIP model: use hf:)" in one_line(err)


def test_missing_folder_config_and_zoo_name(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        resolve_model(f"lmm:{tmp_path / 'absent'}")
    assert "no model folder at" in one_line(err)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError) as err:
        resolve_model(f"lmm:{tmp_path / 'empty'}").load()
    assert "no transformers config in" in one_line(err)
    with pytest.raises(ModelLoadError) as err:
        resolve_model("lmm:zoo/llava-does-not-exist")
    assert "unknown zoo lmm 'llava-does-not-exist'" in one_line(err)


def test_bad_options_and_templates(tiny_folder):
    with pytest.raises(ModelLoadError) as err:
        resolve_model(f"lmm:{tiny_folder}?dtype=float8")
    assert "unknown dtype 'float8'" in one_line(err)
    with pytest.raises(UsageError) as err:
        AnswerTemplate.parse("What is the main object in this image?")
    assert "has no {answer} slot" in one_line(err)
    with pytest.raises(UsageError) as err:
        AnswerTemplate("What is {answer}?", "{answer}")
    assert "holds the {answer} slot" in one_line(err)


def test_bad_protocol_input(tiny_folder):
    model = resolve_model(f"lmm:{tiny_folder}").load()
    image = Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8))
    with pytest.raises(UsageError) as err:
        model.likelihood([image], ["cat"], template="What is this?")
    assert "has no {answer} slot" in one_line(err)
    with pytest.raises(UsageError) as err:
        model.likelihood([image, image], [["cat", "dog"], ["cat"]])
    assert "per-image candidates need 2 non-empty lists of one length" in one_line(err)
    with pytest.raises(UsageError) as err:
        model.choice([image], ["cat"], ["dog"], question="Is it a {first}?")
    assert "needs the {first} and {second} slots" in one_line(err)
    with pytest.raises(UsageError) as err:
        model.choice([image], ["cat"], ["dog"], order="random")
    assert "unknown choice order 'random'" in one_line(err)
