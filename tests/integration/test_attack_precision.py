"""Attacks are scored with the function that was attacked (issue 11, item 1).

Under bf16 autocast (the GPU default; reproduced here on the CPU with --precision bf16) an adversarial image found
in fp32 can land back on the right side of the boundary when re-scored in bf16, which overstates robust accuracy.
An attack run is therefore optimised and scored in --attack-precision (fp32 by default), and its record says so.
"""

from __future__ import annotations

import numpy as np
import torch

from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.shifts import per_image_seed
from zeroshift.specs import RunSpec

MODEL, BENCH, ATTACK = "zoo:clip-cnn-diverse", "factorworld(n=300)", "apgd(eps='1/255', steps=20)"


def test_attack_runs_are_scored_in_the_attacks_precision(tmp_path):
    runner = Runner(RunOptions(cache_dir=tmp_path / "cache", workers=0, bootstrap=0, precision="bf16"))
    record = runner.run(RunSpec.make(MODEL, BENCH, ATTACK))
    assert record.protocol["precision"]["encode"] == "fp32" and record.protocol["precision"]["scored_as_attacked"]
    # the reference: the same attack (same per-image starts) scored in fp32, and what bf16 re-scoring would say
    inputs = runner.inputs(RunSpec.make(MODEL, BENCH, ATTACK))
    classifier = runner.producer.classifier(inputs)
    dataset, shift = inputs.dataset, inputs.shift
    labels = np.asarray(inputs.benchmark.native_to_label(inputs.label_space))[dataset.targets]
    loader = runner.producer.pixel_loader(inputs.handle.load(), inputs, list(range(len(dataset))), None)
    right32 = right16 = 0
    for batch in loader:
        y = torch.as_tensor(labels[batch.positions])
        seeds = [per_image_seed(0, shift.canonical, dataset.sample_ids[i]) for i in batch.positions]
        adv = shift.attack(classifier, batch.pixels, y, seeds, None).detach()
        with torch.no_grad():
            right32 += int((classifier(adv).argmax(1) == y).sum())
            with torch.autocast("cpu", dtype=torch.bfloat16):
                right16 += int((classifier(adv).float().argmax(1) == y).sum())
    assert right16 > right32  # the case discriminates: bf16 re-scoring would hide successful attacks
    assert record.metric("top1").value == right32 / len(dataset)
