"""The corruption3d shift, the imagenet_3dcc reader and the synthetic_shifts_3d suite."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers import build_wnid_layout, sample_manifest
from zeroshift.data import make_benchmark
from zeroshift.data.info import wnid_index
from zeroshift.errors import DatasetError, SpecError, UsageError
from zeroshift.shifts import make_shift
from zeroshift.shifts.base import ShiftContext, per_image_seed
from zeroshift.shifts.corruption3d import codec, corrupt3d
from zeroshift.suites import expand_shift, load_suite


def test_specs_are_checked_and_canonical(tmp_path):
    shift = make_shift(f"corruption3d(severity=2, name='near_focus', depth=\"folder(path='{tmp_path}')\")")
    assert shift.canonical == (
        f"corruption3d(depth=\"folder(kind='inverse', path='{tmp_path}', scale=1.0)\", name='near_focus', severity=2)"
    )
    assert make_shift("corruption3d(name='iso_noise', severity=1)").canonical == (
        "corruption3d(depth=None, name='iso_noise', severity=1)"
    )
    with pytest.raises(SpecError, match="unknown 3D corruption 'near_focs'; did you mean 'near_focus'"):
        make_shift("corruption3d(name='near_focs', severity=1, depth='factorworld')")
    with pytest.raises(SpecError, match="severity must be an integer from 1 to 5"):
        make_shift("corruption3d(name='flash', severity=6, depth='factorworld')")
    with pytest.raises(SpecError, match="flash needs depth="):
        make_shift("corruption3d(name='flash', severity=1)")
    # a depth-free corruption ignores a depth source: one canonical spec, one cache entry
    assert make_shift("corruption3d(name='color_quant', severity=1, depth='factorworld')").canonical == (
        "corruption3d(depth=None, name='color_quant', severity=1)"
    )
    with pytest.raises(SpecError, match="unknown depth source 'factorwold'; did you mean 'factorworld'"):
        make_shift("corruption3d(name='flash', severity=1, depth='factorwold')")


def test_a_missing_codec_is_refused_when_the_spec_is_read(monkeypatch):
    real = codec._codec_ok
    monkeypatch.setattr(codec, "_codec_ok", lambda name, mode: name != "libx265" and real(name, mode))
    with pytest.raises(UsageError, match="h265_abr needs the FFmpeg encoder 'libx265'"):
        make_shift("corruption3d(name='h265_abr', severity=1)")
    make_shift("corruption3d(name='bit_error', severity=1)")  # H.264 is still there


def test_apply_is_seeded_per_image_and_bit_equal_on_rerun():
    shift = make_shift("corruption3d(name='xy_motion_blur', severity=4, depth='factorworld')")
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.integers(0, 256, (3, 48, 48)).astype(np.float32) / 255)
    depth = np.linspace(0.02, 0.5, 48 * 48, dtype=np.float32).reshape(48, 48)

    def run(sample: str) -> torch.Tensor:
        seed = per_image_seed(0, shift.canonical, sample)
        return shift.apply(pixels.clone(), ShiftContext(sample, seed=seed, params={"depth": depth}))

    a, b, c = run("x/1.png"), run("x/1.png"), run("x/2.png")
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the shift is the corruption function on 8-bit pixels, rounded back to 8 bits
    image = np.rint(pixels.numpy().transpose(1, 2, 0) * 255).astype(np.float32) / 255
    expected = corrupt3d(
        image, depth, "xy_motion_blur", 4, np.random.default_rng(per_image_seed(0, shift.canonical, "x/1.png"))
    )
    assert np.array_equal(a.numpy().transpose(1, 2, 0), np.rint(expected * 255).astype(np.float32) / 255)


def test_a_depth_map_of_the_uncropped_image_is_aligned(tmp_path):
    shift = make_shift("corruption3d(name='fog_3d', severity=3, depth='factorworld')")
    pixels = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    depth = np.tile(np.linspace(0.02, 0.5, 48, dtype=np.float32), (32, 1))  # 32 x 48, deeper to the right
    out = shift.apply(pixels, ShiftContext("a", seed=1, params={"depth": depth}))
    contrast = out.std(dim=(0, 1))  # per column
    assert contrast[:8].mean() > contrast[-8:].mean()


def test_without_a_depth_map_the_shift_says_where_it_should_come_from():
    shift = make_shift("corruption3d(name='near_focus', severity=1, depth='factorworld')")
    with pytest.raises(UsageError, match=r"no depth map for a\.png .*ShiftContext\.params\['depth'\]"):
        shift.apply(torch.rand(3, 32, 32), ShiftContext("a.png", seed=1))


def test_the_depth_artefact_checks_its_source_before_any_work(tmp_path):
    from zeroshift.artefacts import kinds

    root = tmp_path / "data"
    rows = sample_manifest()[:3]
    build_wnid_layout(root / "imagenet" / "val", {r["wnid"] for r in rows})
    dataset = make_benchmark("imagenet", root).dataset()
    maps = tmp_path / "maps"
    first = dataset.sample_ids[0]
    (maps / first).parent.mkdir(parents=True)
    np.save((maps / first).with_suffix(".npy"), np.ones((4, 4)))
    scope = SimpleNamespace(dataset=dataset)
    shift = make_shift(f"corruption3d(name='fog_3d', severity=1, depth=\"folder(path='{maps}')\")")
    check = kinds.get("depth").check
    with pytest.raises(DatasetError, match=f"no map for 2 of 3 images \\(first: {dataset.sample_ids[1]}"):
        check(scope, shift.needs()["depth"])
    with pytest.raises(UsageError, match="FactorWorld benchmarks only"):
        check(scope, make_shift("corruption3d(name='fog_3d', severity=1, depth='factorworld')").needs()["depth"])
    for sample in dataset.sample_ids[1:]:
        (maps / sample).parent.mkdir(parents=True, exist_ok=True)
        np.save((maps / sample).with_suffix(".npy"), np.ones((4, 4)))
    check(scope, shift.needs()["depth"])


def test_factorworld_maps_reach_the_shift_through_its_context():
    from zeroshift.depth.factorworld import FactorWorldDepth

    dataset = make_benchmark("factorworld(n=6)", None).dataset()
    shift = make_shift("corruption3d(name='near_focus', severity=5, depth='factorworld')")
    assert shift.needs() == {"depth": {"source": "factorworld"}}
    maps = FactorWorldDepth().rows(dataset, range(6))
    assert len(maps) == 6 and maps[0].shape == (64, 64)
    image = torch.from_numpy(np.asarray(dataset.load(0)[0], dtype=np.float32).transpose(2, 0, 1) / 255)
    out = shift.apply(image, ShiftContext(dataset.sample_ids[0], seed=1, params={"depth": maps[0]}))
    assert not torch.equal(out, image)


def test_the_protocol_records_parameters_sources_and_depth():
    protocol = make_shift("corruption3d(name='fog_3d', severity=4, depth='factorworld')").protocol
    assert protocol["params"] == {"alpha": 16.0} and "create_fog.py" in protocol["source"]
    assert protocol["needs_depth"] and protocol["resembles"] == "fog"
    assert protocol["depth"]["depth_source"] == "factorworld" and protocol["depth"]["exact"]
    assert "per image" in protocol["seeding"]
    h265 = make_shift("corruption3d(name='h265_abr', severity=2)").protocol
    assert h265["params"]["divisor"] == 4 and "one H.264 frame" in h265["adapted"] and "depth" not in h265


# --- imagenet_3dcc ------------------------------------------------------------------------------------------------
def test_imagenet_3dcc_reads_the_released_tree(tmp_path):
    rows = sample_manifest()[:5]
    wnids = {r["wnid"] for r in rows}
    build_wnid_layout(tmp_path / "ImageNet-3DCC" / "fog_3d" / "3", wnids)
    bench = make_benchmark("imagenet_3dcc(corruption='fog_3d', severity=3)", tmp_path)
    data = bench.dataset()
    assert len(data) == 5
    space = bench.label_space()
    labels = np.asarray(bench.native_to_label(space))[data.targets]
    index = wnid_index()
    assert sorted(labels.tolist()) == sorted(index[r["wnid"]] for r in rows)
    with pytest.raises(DatasetError, match=r"ImageNet-3DCC/<corruption>/<severity>/<wnid>/\*"):
        make_benchmark("imagenet_3dcc(corruption='fog_3d', severity=4)", tmp_path).dataset()
    with pytest.raises(SpecError, match="did you mean 'z_motion_blur'"):
        make_benchmark("imagenet_3dcc(corruption='z_motion', severity=1)", tmp_path)


def test_the_suite_runs_the_twelve_corruptions_at_five_severities_and_the_clean_condition():
    suite = load_suite("synthetic_shifts_3d")
    specs = [s for entry in suite["shifts"] for s in expand_shift(entry)]
    assert specs[0] is None and len(specs) == 1 + 12 * 5
    shifts = [make_shift(s) for s in specs[1:]]
    assert {s.params["name"] for s in shifts} == set(corrupt3d.__globals__["NAMES"])
    assert all(s.params["depth"] == "dpt:Intel/dpt-hybrid-midas" for s in shifts if s.protocol["needs_depth"])
