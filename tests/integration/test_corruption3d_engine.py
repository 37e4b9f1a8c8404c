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


def test_a_depth_models_maps_are_cached_and_shared_by_models_of_one_geometry(tmp_path, monkeypatch):
    """A tiny random DPT through the real loading code; its maps are the DPT's own prediction on the clean pixels, and
    a second runner (another model of the same geometry) makes zero depth inferences."""
    from tests.unit.test_depth_sources import _tiny_dpt
    from zeroshift.artefacts.depth import depth_source
    from zeroshift.data import make_benchmark
    from zeroshift.depth.model import DepthModel
    from zeroshift.models import resolve_model

    folder = _tiny_dpt(tmp_path / "tiny-dpt")
    shift = f"corruption3d(name='fog_3d', severity=4, depth='dpt:{folder}')"
    calls: list[int] = []
    predict = DepthModel.predict

    def counted(self, pixels):
        calls.append(len(pixels))
        return predict(self, pixels)

    monkeypatch.setattr(DepthModel, "predict", counted)
    depth_source.cache_clear()
    first = Runner(RunOptions(cache_dir=tmp_path / "c", workers=0, bootstrap=0)).run(RunSpec.make(MODEL, BENCH, shift))
    assert sum(calls) == 24
    (depth,) = [r for r in first.counts["related"] if r["artefact"] == "depth"]
    assert depth["encoded"] == 24 and first.protocol["shift"]["depth"]["depth_source"] == f"dpt:{folder}"
    # the rows are the model's prediction on the clean pixels after the geometry, in 3DCC units
    dataset = make_benchmark(BENCH, None).dataset()
    geometry = resolve_model(MODEL).load().preprocess.geometry
    pixels = torch.stack([geometry(dataset.load(i)[0]) for i in range(4)])
    runner = Runner(RunOptions(cache_dir=tmp_path / "c", workers=0, bootstrap=0))
    calls.clear()
    depth_source.cache_clear()
    other = runner.run(RunSpec.make("zoo:sup-cnn-small", BENCH, shift))
    assert calls == []  # zero depth inferences: the maps come from the cache
    (again,) = [r for r in other.counts["related"] if r["artefact"] == "depth"]
    assert again["from_cache"] == 24 and again["fingerprint"] == depth["fingerprint"]
    bank = runner.cache.bank("depth", depth["fingerprint"], {})
    cached = bank.get(dataset.content_keys()[:4])
    expected = depth_source(f"dpt:{folder}").load().predict(pixels)
    assert torch.allclose(cached, torch.from_numpy(expected), atol=1e-5)


def test_a_changed_depth_map_file_changes_the_key_of_the_maps_and_of_the_shifted_features(tmp_path):
    """Folder maps are keyed by each map file's size and mtime (as image files are): a map rewritten is read
    again, and the features of the shifted pixels, which follow the maps, are taken again."""
    import os

    import numpy as np

    from zeroshift.data import make_benchmark

    bench = "factorworld(n=4)"
    dataset = make_benchmark(bench, None).dataset()
    maps = tmp_path / "maps"
    for sid in dataset.sample_ids:
        (maps / sid).parent.mkdir(parents=True, exist_ok=True)
        np.save(maps / f"{sid}.npy", np.full((64, 64), 0.05))
    shift = f"corruption3d(name='fog_3d', severity=5, depth=\"folder(path='{maps}', kind='depth')\")"

    def run():
        runner = Runner(RunOptions(cache_dir=tmp_path / "c", workers=0, bootstrap=0))
        record = runner.run(RunSpec.make("zoo:sup-cnn-tiny", bench, shift))
        depth = [r for r in record.counts["related"] if r["artefact"] == "depth"]
        return runner, record, depth[0] if depth else None

    _, first, depth_first = run()
    _, again, depth_again = run()
    # unchanged maps: the shifted features come from the cache, so the maps are not even read
    assert depth_first["encoded"] == 4 and again.counts["encoded_total"] == 0 and depth_again is None
    assert again.fingerprints == first.fingerprints
    changed_map = maps / f"{dataset.sample_ids[0]}.npy"
    before = changed_map.stat()
    np.save(changed_map, np.full((64, 64), 0.5))  # the same size: only the mtime tells
    os.utime(changed_map, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    assert changed_map.stat().st_size == before.st_size
    runner, changed, depth_changed = run()
    assert depth_changed["fingerprint"] != depth_first["fingerprint"] and depth_changed["encoded"] == 4
    assert changed.counts["encoded"] == 4  # the shifted features are taken again, on the new fog
    assert changed.fingerprints != first.fingerprints
    rows = runner.cache.bank("depth", depth_changed["fingerprint"], {}).get(dataset.content_keys())
    assert torch.all(rows[0] == 0.5) and torch.allclose(rows[1:], torch.tensor(0.05))
