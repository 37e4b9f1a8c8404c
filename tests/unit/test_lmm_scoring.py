"""LMM candidate scoring against hand computations from the model's own logits (tiny random LLaVA, no download)."""

import numpy as np
import pytest
import torch
from PIL import Image

from tests.tiny_llava import save_tiny_llava, tiny_llava, tiny_processor
from zeroshift.lmm.templates import AnswerTemplate
from zeroshift.models.lmm import LMMModel
from zeroshift.specs import ModelSpec

CANDIDATES = ["cat", "dog", "red bird", "a big red car", "tv", "hot tea"]


@pytest.fixture(scope="module")
def model():
    return LMMModel(ModelSpec.parse("lmm:/tiny"), tiny_llava(seed=1), tiny_processor())


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    # different sizes and aspect ratios: the processor resizes and crops each one
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 48), (32, 32), (64, 50)]]


def hand_logprob(model, image, candidate, question="What is the main object in this image?"):
    """Full forward of prefix + answer through transformers alone, log-softmax, gather the answer's tokens."""
    processor, module = model.processor, model.module
    prompt = f"USER: <image>\n{question} ASSISTANT: {candidate}"  # the tiny chat template, written out
    inputs = processor(images=[image], text=[prompt], return_tensors="pt")
    answer = processor.tokenizer(candidate, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(module(**inputs).logits[0].double(), dim=-1)
    n = inputs["input_ids"].shape[1]
    positions = range(n - len(answer), n)
    return sum(float(logp[p - 1, inputs["input_ids"][0, p]]) for p in positions), len(answer)


def test_likelihood_equals_hand_computation(model, images):
    scores = model.likelihood(images, CANDIDATES)
    for i, image in enumerate(images):
        for k, cand in enumerate(CANDIDATES):
            total, n = hand_logprob(model, image, cand)
            assert scores.n_tokens[i, k] == n
            assert scores.logprob_sum[i, k] == pytest.approx(total, abs=1e-4)
            assert scores.scores("mean")[i, k] == pytest.approx(total / n, abs=1e-4)
            assert scores.scores("sum")[i, k] == pytest.approx(total, abs=1e-4)
    assert scores.protocol["prefix"] == "USER: <image>\nWhat is the main object in this image? ASSISTANT:"
    # the scores are not all alike: the hand check compared real numbers
    assert np.ptp(scores.scores("mean")) > 0.1


def test_one_string_template_with_reply_text(model, images):
    template = AnswerTemplate("What is this?", "it is a {answer}.")
    scores = model.likelihood(images[:1], ["cat", "red bird"], template)
    for k, cand in enumerate(["cat", "red bird"]):
        total, n = hand_logprob(model, images[0], f"it is a {cand}.", question="What is this?")
        # the reply's lead ("it is a") is part of the prefix: only the candidate and what follows are scored
        lead, _ = hand_logprob(model, images[0], "it is a", question="What is this?")
        assert scores.logprob_sum[0, k] == pytest.approx(total - lead, abs=1e-4)
        assert scores.n_tokens[0, k] == n - 3


def test_cached_batches_equal_one_candidate_at_a_time(model, images):
    cached = model.likelihood(images, CANDIDATES, rows_per_batch=4)
    singles = np.array(
        [
            [model.likelihood([img], [c], use_cache=False, rows_per_batch=1).logprob_sum[0, 0] for c in CANDIDATES]
            for img in images
        ]
    )
    np.testing.assert_allclose(cached.logprob_sum, singles, rtol=1e-5, atol=1e-5)


def test_per_image_candidates_equal_shared_candidates(model, images):
    shared = model.likelihood(images, CANDIDATES).logprob_sum
    order = [[2, 0, 5], [1, 3, 4], [4, 4, 0]]
    per_image = model.likelihood(images, [[CANDIDATES[k] for k in row] for row in order]).logprob_sum
    np.testing.assert_allclose(per_image, np.take_along_axis(shared, np.array(order), axis=1), rtol=1e-5, atol=1e-5)


def test_pixel_tensors_score_like_the_processor(model, images):
    # [0, 1] tensors after the adapter's geometry (where shifts act) score as the PIL images do
    pixels = torch.stack([model.preprocess.geometry(img) for img in images])
    np.testing.assert_allclose(
        model.likelihood(pixels, CANDIDATES).logprob_sum, model.likelihood(images, CANDIDATES).logprob_sum, atol=1e-3
    )


def test_generate_is_greedy(model, images):
    answers = model.generate(images[:2], max_new_tokens=4).answers
    tok = model.processor.tokenizer
    for image, answer in zip(images[:2], answers, strict=True):
        prompt = "USER: <image>\nWhat is the main object in this image? ASSISTANT:"
        inputs = model.processor(images=[image], text=[prompt], return_tensors="pt")
        ids = inputs["input_ids"]
        new = []
        for _ in range(4):  # argmax of a full forward at every step: greedy decoding by hand
            with torch.no_grad():
                logits = model.module(input_ids=ids, pixel_values=inputs["pixel_values"]).logits[0, -1]
            nxt = int(logits.argmax())
            new.append(nxt)
            if nxt == tok.eos_token_id:
                break
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
        assert answer == tok.decode(new, skip_special_tokens=True).strip()


def test_choice_question_and_order(model, images):
    out = model.choice(images, ["cat", "dog", "tv"], ["dog", "cat", "radio"], max_new_tokens=2)
    assert out.questions[2] == "What is the main object in this image? Choose from the following list: tv, radio."
    assert out.first == ["cat", "dog", "tv"] and out.protocol["order"] == "gt_first"
    shuffled = model.choice(images, ["cat", "dog", "tv"], ["dog", "cat", "radio"], order="shuffled", seed=3,
                            max_new_tokens=2)  # fmt: skip
    assert sorted(zip(shuffled.first, shuffled.second, strict=True)) != sorted(zip(out.first, out.second, strict=True))
    assert all({a, b} == {g, o} for a, b, g, o in zip(shuffled.first, shuffled.second, ["cat", "dog", "tv"],
                                                      ["dog", "cat", "radio"], strict=True))  # fmt: skip


def test_saved_folder_loads_through_the_adapter(tmp_path, images):
    folder = save_tiny_llava(tmp_path / "llava", seed=1)
    loaded = LMMModel.load(ModelSpec.parse(f"lmm:{folder}"))
    memory = LMMModel(ModelSpec.parse("lmm:/tiny"), tiny_llava(seed=1), tiny_processor())
    np.testing.assert_allclose(
        loaded.likelihood(images, CANDIDATES).logprob_sum, memory.likelihood(images, CANDIDATES).logprob_sum, atol=1e-5
    )
    assert loaded.info.family == "LMM" and loaded.info.extra["vision_tower"]["model_type"] == "clip_vision_model"
    assert loaded.info.extra["language_model"]["model_type"] == "llama"
