"""On-the-fly corruptions through the engine: a rerun with a fresh cache gives bit-identical features."""

from __future__ import annotations

import torch

from tests.helpers import build_wnid_layout
from tests.integration.synthetic_helpers import TIMM, photo_wnids
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec


def features(root, cache, shift, workers, batch_size, seed=0):
    runner = Runner(RunOptions(data_root=root, cache_dir=cache, workers=workers, batch_size=batch_size, bootstrap=0))
    ctx = runner.inputs(RunSpec.make(TIMM, "imagenet", shift, seed=seed))
    stats = ctx.stats
    bank = runner.cache.bank("features", stats.fingerprint, {})
    return bank.get(ctx.dataset.content_keys()), stats


def test_rerunning_a_corrupted_benchmark_gives_bit_identical_features(tmp_path):
    root = tmp_path / "data"
    build_wnid_layout(root / "imagenet" / "val", photo_wnids(6))
    clean, _ = features(root, tmp_path / "cache-clean", None, 0, 6)
    # corruptions with per-image randomness: a pixel shuffle, a texture choice and crop
    shifts = ["corruption(name='glass_blur', severity=2)", "corruption(name='frost', severity=4)"]
    firsts = {}
    for k, shift in enumerate(shifts):
        first, stats1 = features(root, tmp_path / f"cache-a{k}", shift, workers=0, batch_size=6)
        second, stats2 = features(root, tmp_path / f"cache-b{k}", shift, workers=2, batch_size=4)
        assert stats1.encoded == stats2.encoded == 6 and stats1.from_cache == stats2.from_cache == 0
        assert stats1.fingerprint == stats2.fingerprint
        assert torch.equal(first, second), shift  # fresh caches, other worker count and batching: same bits
        assert not torch.equal(first, clean)
        firsts[shift] = (first, stats1)
    # another run seed draws other corruptions: the features change, and are keyed apart
    frost, frost_stats = firsts[shifts[1]]
    reseeded, reseeded_stats = features(root, tmp_path / "cache-c", shifts[1], 0, 6, seed=1)
    assert reseeded_stats.fingerprint != frost_stats.fingerprint
    assert not torch.equal(reseeded, frost)


def test_a_corruption_run_records_its_protocol(tmp_path):
    root = tmp_path / "data"
    build_wnid_layout(root / "imagenet" / "val", photo_wnids(3))
    runner = Runner(RunOptions(data_root=root, cache_dir=tmp_path / "cache", workers=0, bootstrap=0))
    record = runner.run(RunSpec.make(TIMM, "imagenet", "corruption(severity=1, name='gaussian_noise')"))
    assert record.shift == "corruption(name='gaussian_noise', severity=1)"
    shift = record.protocol["shift"]
    assert shift["kind"] == "pixel" and "imagecorruptions 1.1.2" in shift["reference"]
    assert shift["set"].startswith("common") and "per image" in shift["seeding"]
    names = [m.name for m in record.metrics]
    assert names[:3] == ["top1", "top5", "mean_per_class_recall"]  # a corruption adds no metric group of its own
    assert all(n.startswith("top1_on_") for n in names[3:])  # imagenet's class_subsets group
    again = runner.run(RunSpec.make(TIMM, "imagenet", "corruption(name='gaussian_noise', severity=1)"))
    assert again.counts["from_cache"] == 3 and again.counts["encoded"] == 0
    assert again.metric("top1").value == record.metric("top1").value
