"""Adversarial attacks through the engine, on images labelled with the model's own clean predictions (so the
clean accuracy is 1 by construction): a fixed-head timm classifier and a tiny zero-shot open_clip model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.integration.synthetic_helpers import TIMM, predicted_layout, tiny_clip_spec
from zeroshift.engine.plan import PlanItem
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec


@pytest.fixture(scope="module")
def clip_data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks-clip")
    model = tiny_clip_spec()
    return model, predicted_layout(tmp, model, 8, tmp / "cache"), tmp / "cache"


def run(data, shift, prompts="simple", metrics=None, metric_params=None, **options):
    model, root, cache = data
    options = {"workers": 0, "bootstrap": 0, "batch_size": 8, **options}
    runner = Runner(RunOptions(data_root=root, cache_dir=cache, **options))
    return runner, runner.run(PlanItem(RunSpec.make(model, "imagenet", shift, prompts), metrics, metric_params or {}))


def bank_rows(runner, record):
    """The cached features of a record's condition (nothing is encoded again)."""
    prompts = "simple" if record.prompts.startswith("n/a") else record.prompts  # fixed heads ignore prompts
    ctx = runner.inputs(RunSpec.make(record.model, "imagenet", record.shift, prompts))
    stats = ctx.stats
    assert stats.encoded == 0
    return runner.cache.bank("features", stats.fingerprint, {}).get(ctx.dataset.content_keys())


def test_robust_accuracy_starts_at_clean_accuracy_and_never_rises_with_eps(clip_data):
    runner, clean = run(clip_data, None)
    assert clean.metric("top1").value == 1.0
    _, at_zero = run(clip_data, "pgd(eps=0, steps=2)")
    assert at_zero.metric("top1").value == clean.metric("top1").value
    assert torch.equal(bank_rows(runner, at_zero), bank_rows(runner, clean))  # same pixels, same features
    accuracy = [at_zero.metric("top1").value]
    for eps in (0.0001, 0.0003, 0.001, 0.004):
        _, record = run(clip_data, f"pgd(eps={eps}, steps=5)")
        accuracy.append(record.metric("top1").value)
        # the shift's own metric group: against an all-correct clean run, success rate = drop = 1 - robust top1
        names = [m.name for m in record.metrics]
        # imagenet's own groups (accuracy, class_subsets), then the adversarial group the shift adds
        assert names[:3] == ["top1", "top5", "mean_per_class_recall"]
        assert names[-3:] == ["clean_top1", "accuracy_drop", "attack_success_rate"]
        assert record.metric("attack_success_rate").value == pytest.approx(1 - record.metric("top1").value)
        assert record.metric("accuracy_drop").value == pytest.approx(1 - record.metric("top1").value)
        assert record.protocol["shift"]["kind"] == "attack" and "linf ball" in record.protocol["shift"]["threat_model"]
    assert all(b <= a for a, b in zip(accuracy, accuracy[1:], strict=False)), accuracy
    assert accuracy[-1] < 0.5 and len(set(accuracy)) > 2, accuracy


def test_targeted_attack_hits_its_targets_and_reports_them(clip_data):
    _, record = run(clip_data, "pgd(eps='32/255', steps=10, target='random')", save_samples=True)
    targets = np.asarray(record.samples.extra["attack_target"])
    labels = np.asarray(record.samples.labels)
    assert (targets != labels).all()  # clean, no image is classified as its target (labels = clean predictions)
    hits = np.asarray([row[0] for row in record.samples.topk]) == targets
    assert record.metric("attack_success_rate").value == pytest.approx(hits.mean())
    assert hits.mean() > 0  # a random target among 1000 classes of a random tiny model is not always reachable
    assert record.protocol["shift"]["target"] == "random"


def test_median_minimal_epsilon_is_cached_per_model_head_attack_and_seed(clip_data):
    params = {"min_epsilon": {"attack": "pgd(steps=3)", "eps_max": "2/255", "search_steps": 5}}
    runner, record = run(
        clip_data, None, metrics=("accuracy", "min_epsilon"), metric_params=params, save_samples=True, bootstrap=200
    )
    m = record.metric("min_epsilon_median")
    per_image = np.asarray(record.samples.extra["min_epsilon"], dtype=float)
    assert per_image.shape == (8,) and (per_image > 0).all()  # every clean image is correct: none is 0
    # the lower median (numpy's inverted-CDF quantile): the smallest radius that flips at least half the images
    assert m.value == pytest.approx(np.quantile(per_image, 0.5, method="inverted_cdf")) and not m.details["censored"]
    assert 0 < m.value <= 2 / 255 and m.ci_low <= m.value <= m.ci_high
    assert m.details["search_steps"] == 5 and m.details["n"] == 8
    assert record.protocol["min_epsilon"]["cache"].startswith("attacks/")
    # per image, the attack succeeds at the radius found (and bisection brackets it to eps_max / 2**5)
    assert (per_image <= 2 / 255).all()
    # a second analysis attacks nothing: a fresh runner on the same cache never loads the model
    again_runner, again = run(clip_data, None, metrics=("accuracy", "min_epsilon"), metric_params=params)
    assert again.metric("min_epsilon_median").value == m.value
    assert not again_runner.handle(clip_data[0]).loaded
    # another search is keyed apart and computed anew
    other = {"min_epsilon": {**params["min_epsilon"], "search_steps": 2}}
    other_runner, _ = run(clip_data, None, metrics=("min_epsilon",), metric_params=other)
    assert other_runner.handle(clip_data[0]).loaded


def test_attack_features_are_keyed_on_the_text_head(clip_data, tmp_path):
    _, attacked = run(clip_data, "apgd(eps='1/255', steps=5)")
    assert attacked.metric("top1").value < 0.5
    prompts = tmp_path / "one.txt"
    prompts.write_text("a blurry photo of a {}.\n")
    _, other_head = run(clip_data, "apgd(eps='1/255', steps=5)", prompts=str(prompts))
    assert other_head.fingerprints["features"] != attacked.fingerprints["features"]
    assert other_head.counts["encoded"] == 8  # the attack followed the other head's gradients


def test_fixed_head_timm_classifier_is_attacked_too(tmp_path):
    cache = tmp_path / "cache"
    data = (TIMM, predicted_layout(tmp_path, TIMM, 3, cache), cache)
    runner, fgsm = run(data, "fgsm(eps='4/255')")
    _, pgd = run(data, "pgd(eps='4/255', steps=1, step_size='4/255', random_start=False)")
    assert torch.equal(bank_rows(runner, fgsm), bank_rows(runner, pgd))  # FGSM = one PGD step, no random start
    assert not torch.equal(bank_rows(runner, fgsm), bank_rows(runner, run(data, None)[1]))
    assert fgsm.metric("clean_top1").value == 1.0 and fgsm.metric("top1").value == pgd.metric("top1").value
    assert fgsm.prompts == "n/a (fixed head)"
