"""3D corruptions through the engine on FactorWorld with its exact depth: bit-identical reruns, recorded protocol."""

from __future__ import annotations

import pytest
import torch

from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec

MODEL = "zoo:clip-cnn-diverse"
BENCH = "factorworld(n=24)"


def features(cache, shift, workers, batch_size):
    runner = Runner(RunOptions(cache_dir=cache, workers=workers, batch_size=batch_size, bootstrap=0))
    outputs, stats, ctx = runner.outputs_for(RunSpec.make(MODEL, BENCH, shift))
    bank = runner.cache.bank("features", stats.fingerprint, {})
    return bank.get(ctx.dataset.content_keys()), stats


@pytest.mark.slow  # starts loader worker processes
def test_depth_corruptions_rerun_bit_identically_through_loader_workers(tmp_path):
    clean, _ = features(tmp_path / "clean", None, 0, 24)
    for k, shift in enumerate(
        [
            "corruption3d(name='z_motion_blur', severity=3, depth='factorworld')",  # random camera path per image
            "corruption3d(name='bit_error', severity=5)",  # random byte errors per image
        ]
    ):
        first, s1 = features(tmp_path / f"a{k}", shift, workers=0, batch_size=24)
        # the zoo CNN's features depend on the batch size in the last bit, so only the workers change here
        second, s2 = features(tmp_path / f"b{k}", shift, workers=2, batch_size=24)
        assert s1.encoded == s2.encoded == 24 and s1.fingerprint == s2.fingerprint
        assert torch.equal(first, second), shift
        assert not torch.equal(first, clean)


def test_a_3d_corruption_run_records_its_protocol_and_loses_accuracy_with_severity(tmp_path):
    runner = Runner(RunOptions(cache_dir=tmp_path / "cache", workers=0, bootstrap=0))
    clean = runner.run(RunSpec.make(MODEL, "factorworld(n=96)"))
    top1 = []
    for severity in (1, 5):
        record = runner.run(
            RunSpec.make(
                MODEL, "factorworld(n=96)", f"corruption3d(name='far_focus', severity={severity}, depth='factorworld')"
            )
        )
        top1.append(record.metric("top1").value)
        shift = record.protocol["shift"]
        assert shift["depth"]["depth_source"] == "factorworld" and shift["params"]["focus_level"] == 7
    assert clean.metric("top1").value >= top1[0] > top1[1]
