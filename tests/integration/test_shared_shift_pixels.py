"""Models of one geometry share the shifted pixels of a condition run in this process: each image is corrupted
once, and every model's features are bit-identical to those of a run that shares nothing."""

from __future__ import annotations

import torch

from zeroshift.engine import loader
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.shifts.corruptions import Corruption
from zeroshift.specs import RunSpec

MODELS = ("zoo:clip-cnn-diverse", "zoo:sup-cnn-base")  # both 64-pixel zoo geometries
BENCH, SHIFT = "factorworld(n=12)", "corruption(name='zoom_blur', severity=2)"


def _features(cache, shared: bool, monkeypatch) -> tuple[dict[str, torch.Tensor], int]:
    calls = []
    apply = Corruption.apply

    def counting(self, pixels, ctx):
        calls.append(ctx.sample_id)
        return apply(self, pixels, ctx)

    monkeypatch.setattr(Corruption, "apply", counting)
    loader.SHIFTED_PIXELS.clear()  # nothing from an earlier test
    if not shared:
        monkeypatch.setattr(loader.ShiftedPixels, "key", staticmethod(lambda *a: None))
    runner = Runner(RunOptions(cache_dir=cache, workers=0, bootstrap=0))
    out = {}
    for model in MODELS:  # condition by condition, as the demo orders its plan
        ctx = runner.inputs(RunSpec.make(model, BENCH, SHIFT))
        out[model] = runner.cache.bank("features", ctx.stats.fingerprint, {}).get(ctx.dataset.content_keys())
    return out, len(calls)


def test_models_of_one_geometry_corrupt_each_image_once_with_the_same_bits(tmp_path, monkeypatch):
    shared, shared_calls = _features(tmp_path / "a", True, monkeypatch)
    monkeypatch.undo()
    alone, alone_calls = _features(tmp_path / "b", False, monkeypatch)
    assert alone_calls == 2 * 12 and shared_calls == 12  # once per image instead of once per model and image
    for model in MODELS:
        assert torch.equal(shared[model], alone[model]), model


def test_shifts_with_per_sample_parameters_or_artefacts_are_not_shared():
    from zeroshift.data import make_benchmark
    from zeroshift.shifts import make_shift

    ds = make_benchmark("factorworld(n=2)", None).dataset()
    geometry = lambda image: image  # noqa: E731 - a lambda does not pickle: not shared
    assert loader.ShiftedPixels.key(geometry, make_shift(SHIFT), 0, ds, BENCH) is None
    depth = make_shift("corruption3d(name='fog_3d', severity=3, depth='factorworld')")
    assert loader.ShiftedPixels.key(None, depth, 0, ds, BENCH) is None  # reads a depth map
    assert loader.ShiftedPixels.key(None, make_shift(SHIFT), 0, ds, BENCH) is not None
