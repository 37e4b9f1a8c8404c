"""Typographic attacks through the engine on a tiny zero-shot model: the written class reaches the metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import build_wnid_layout
from tests.integration.synthetic_helpers import photo_wnids, tiny_clip_spec
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("typographic")
    build_wnid_layout(tmp / "data" / "imagenet" / "val", photo_wnids(8))
    return tiny_clip_spec(), tmp / "data", tmp / "cache"


def runner_for(data, **options):
    _, root, cache = data
    return Runner(RunOptions(data_root=root, cache_dir=cache, workers=0, bootstrap=100, save_samples=True, **options))


def test_written_class_reaches_the_metric_group(data):
    model = data[0]
    runner = runner_for(data)
    clean = runner.run(RunSpec.make(model, "imagenet", None, "simple"))
    clean_out = runner.outputs(RunSpec.make(model, "imagenet", None, "simple"))
    labels = np.asarray(clean.samples.labels)
    for text in ("random", "confusable", "correct"):
        record = runner.run(RunSpec.make(model, "imagenet", f"typographic(text='{text}')", "simple"))
        written = np.asarray(record.samples.extra["written_label"])
        pred = np.asarray([row[0] for row in record.samples.topk])
        assert record.counts["encoded"] == 8
        if text == "correct":
            assert (written == labels).all()
            assert record.metric("attack_success_rate") is None  # the control has no wrong class to succeed with
        else:
            assert (written != labels).all()
            assert record.metric("attack_success_rate").value == pytest.approx((pred == written).mean())
        if text == "confusable":  # the highest-scoring wrong class on the clean image
            scores = clean_out.logits.clone()
            scores[torch.arange(8), torch.as_tensor(clean_out.labels)] = float("-inf")
            assert written.tolist() == scores.argmax(dim=1).tolist()
        drop = record.metric("accuracy_drop").value
        assert drop == pytest.approx(clean.metric("top1").value - record.metric("top1").value)
        assert record.metric("clean_top1").value == clean.metric("top1").value
        assert record.protocol["shift"]["written_class"] and "Hershey duplex" in record.protocol["shift"]["font"]
        assert record.protocol["typographic_metrics"]["control"] == (text == "correct")


def test_a_cached_rerun_recomputes_the_written_classes_without_the_model(data):
    model = data[0]
    first = runner_for(data).run(RunSpec.make(model, "imagenet", "typographic(text='confusable')", "simple"))
    fresh = runner_for(data)
    again = fresh.run(RunSpec.make(model, "imagenet", "typographic(text='confusable')", "simple"))
    assert again.counts["from_cache"] == 8 and not fresh.handle(model).loaded
    assert again.samples.extra["written_label"] == first.samples.extra["written_label"]
    assert again.metric("attack_success_rate").value == first.metric("attack_success_rate").value


def test_text_pixels_are_keyed_on_what_they_depend_on(data, tmp_path):
    model = data[0]
    runner = runner_for(data)
    prompts = tmp_path / "one.txt"
    prompts.write_text("a blurry photo of a {}.\n")
    fingerprints = {}
    for text in ("random", "confusable"):
        for p in ("simple", str(prompts)):
            record = runner.run(RunSpec.make(model, "imagenet", f"typographic(text='{text}', count=2)", p))
            fingerprints[(text, p == "simple")] = record.fingerprints["features"]
    # a random wrong name does not depend on the text head; the most confusable one does
    assert fingerprints[("random", True)] == fingerprints[("random", False)]
    assert fingerprints[("confusable", True)] != fingerprints[("confusable", False)]
