"""A LLaVA through `zeroshift run` (issue 14): a tiny random LlavaForConditionalGeneration saved in the test (its
vocabulary holds FactorWorld's class names) and a tiny CLIP as its companion. Its class scores against a hand
computation with transformers alone, the protocol and the companion CLIP in the record, the paired test against
scipy, a second run served from the cache, a shifted run, and the report section."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import make_tiny_hf_model
from tests.tiny_llava import save_tiny_llava
from zeroshift.data import make_benchmark
from zeroshift.results.store import Store

EXE = Path(sys.executable).with_name("zeroshift")
BENCH = "factorworld(n=16)"
FOG = "corruption(name='fog',severity=3)"


def zeroshift(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZEROSHIFT_CACHE": str(cache)}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("lmm-models")
    classes = tuple(make_benchmark(BENCH, None).label_space().class_names)
    return save_tiny_llava(tmp / "llava", extra_words=classes), "hf:" + str(make_tiny_hf_model(tmp / "clip", "clip"))


@pytest.fixture(scope="module")
def store(tmp_path_factory, models) -> Store:
    llava, clip = models
    tmp = tmp_path_factory.mktemp("lmm")
    path, cache = str(tmp / "results.db"), tmp / "cache"
    common = ["-b", BENCH, "--store", path, "--no-progress", "--workers", "0", "--bootstrap", "100", "--json"]
    lmm = ["-m", f"lmm:{llava}", "--metrics", "accuracy", "--metrics", "lmm", "--metric-param", f"lmm.clip={clip}"]
    for args in (
        [*lmm, *common, "--save-samples"],
        [*lmm, *common],  # the same condition again: everything from the cache
        [*lmm, *common, "--shift", FOG],
    ):
        done = zeroshift("run", *args, cache=cache)
        assert done.returncode == 0, done.stderr[-3000:]
    return Store(path)


def oracle_scores(folder: Path, images: list, classes: list[str]) -> np.ndarray:
    """Mean log-probability per answer token of each class name, by transformers alone: the chat template's
    generation prompt, then `` <name>``; one full forward per candidate; log-softmax; gather."""
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(folder)
    chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is the main object in "
                                                                                      "this image?"}]}]  # fmt: skip
    prompt = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    out = np.zeros((len(images), len(classes)))
    with torch.no_grad():
        for i, image in enumerate(images):
            n_prefix = processor(images=[image], text=[prompt], return_tensors="pt")["input_ids"].shape[1]
            for j, name in enumerate(classes):
                batch = processor(images=[image], text=[f"{prompt} {name}"], return_tensors="pt")
                ids = batch["input_ids"][0]
                logp = torch.log_softmax(model(**batch).logits[0].double(), dim=-1)
                answer = ids[n_prefix:]
                out[i, j] = float(logp[n_prefix - 1 : len(ids) - 1].gather(1, answer[:, None]).mean())
    return out


def test_lmm_records_match_a_hand_computation_and_name_their_clip(store, models):
    from scipy.stats import binomtest

    llava, clip_spec = models
    clean, again, fog = store.records()
    bench = make_benchmark(BENCH, None)
    ds = bench.dataset()
    classes = list(bench.label_space().class_names)
    scores = oracle_scores(llava, [ds.load(i)[0] for i in range(len(ds))], classes)
    lmm_correct = scores.argmax(1) == ds.targets
    assert clean.metric("top1").value == pytest.approx(lmm_correct.mean())
    samples = store.samples(clean.run_id)
    probs = torch.softmax(torch.as_tensor(scores), dim=1).numpy()
    assert [t[0] for t in samples.topk] == scores.argmax(1).tolist()
    assert np.allclose([s[0] for s in samples.topk_scores], probs.max(1), atol=2e-3)
    # the protocol: the answers artefact's choices, and the CLIP it was compared with
    scores_protocol = clean.protocol["scores"]
    assert scores_protocol["protocol"] == "likelihood" and scores_protocol["candidates"]["names"] == classes
    assert scores_protocol["normalise"] == "log-likelihood per answer token"
    assert clean.model_info["kind"] == "lmm"
    companion = clean.protocol["lmm"]["companion"]
    assert companion["model"] == clip_spec and companion["shift"] is None and companion["relation"] == "companion"
    assert samples.extra["lmm_correct"] == lmm_correct.tolist()
    clip_correct = np.asarray(samples.extra["clip_restricted_correct"], dtype=bool)
    assert clean.metric("clip_restricted_top1").value == pytest.approx(clip_correct.mean())
    only_lmm, only_clip = int((lmm_correct & ~clip_correct).sum()), int((~lmm_correct & clip_correct).sum())
    gain = clean.metric("lmm_gain")
    assert gain.value == pytest.approx(lmm_correct.mean() - clip_correct.mean())
    expected_p = binomtest(only_lmm, only_lmm + only_clip, 0.5).pvalue if only_lmm + only_clip else 1.0
    assert gain.details["p_value"] == pytest.approx(expected_p)
    # the same condition again: nothing encoded, same numbers
    assert again.counts["encoded_total"] == 0 and again.metric("top1").value == clean.metric("top1").value
    # the shifted run: the shift reaches the LMM's pixels; the companion is the CLIP under the same shift
    assert fog.shift is not None and fog.shift.startswith("corruption(") and fog.counts["encoded_total"] > 0
    assert fog.protocol["lmm"]["companion"]["shift"] == fog.shift
    assert fog.protocol["scores"]["fingerprint"] != clean.protocol["scores"]["fingerprint"]


def test_the_report_shows_each_lmm_next_to_its_clip(store, models, tmp_path):
    from zeroshift.reports.html import build_report

    out = tmp_path / "report.html"
    build_report(store, out)
    page = out.read_text()
    assert "LMMs next to their CLIP" in page and "Each LMM next to its own CLIP" in page and "McNemar p" in page
