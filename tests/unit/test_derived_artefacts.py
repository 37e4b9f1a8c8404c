"""Derived artefact kinds (``derives=``): computed from another kind's cached rows, never from pixels, and cached."""

from __future__ import annotations

import numpy as np

from zeroshift.artefacts import artefact_kind, kinds
from zeroshift.engine.features import cached_features
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec

MODEL, BENCH = "zoo:clip-cnn-narrow", "factorworld(n=6)"
CALLS: list[int] = []


def _first_coordinate(rows, scope, params):
    CALLS.append(len(rows))
    return rows.rows[:, :1] * params["scale"]


if "test_first_coordinate" not in kinds:
    from zeroshift.params import Param

    artefact_kind(
        "test_first_coordinate",
        description="first feature coordinate, scaled (test kind)",
        keyed_by="image",
        fingerprint=lambda scope, params: {**scope.pixel_fingerprint(), "what": "first coordinate"},
        compute=_first_coordinate,
        derives="features",
        params={"scale": Param(1.0, "scale")},
    )


def test_a_derived_kind_reads_cached_features_and_is_cached(tmp_path):
    CALLS.clear()
    options = RunOptions(cache_dir=str(tmp_path), progress=False, workers=0)
    first = Runner(options).inputs(RunSpec.make(MODEL, BENCH))
    rows = first.artefact("test_first_coordinate", scale=2.0)
    features = first.artefact("features")
    # the rows are the kind's function of the features the same pass produced, in the condition's order
    np.testing.assert_allclose(rows.rows.numpy()[:, 0], 2.0 * features.rows.numpy()[:, 0])
    assert rows.sample_ids == features.sample_ids and CALLS == [6]
    assert first.stats.encoded == 6  # one pass: the derived kind adds no encoding
    again = Runner(options).inputs(RunSpec.make(MODEL, BENCH))
    assert np.array_equal(again.artefact("test_first_coordinate", scale=2.0).rows.numpy(), rows.rows.numpy())
    assert CALLS == [6] and again.stats.encoded == 0  # from the cache: neither encoded nor derived again


def test_cached_features_are_unit_rows_shared_with_runs(tmp_path):
    runner = Runner(RunOptions(cache_dir=str(tmp_path), progress=False, workers=0))
    rows = cached_features(runner, MODEL, BENCH)
    assert rows.protocol["counts"]["encoded"] == 6
    np.testing.assert_allclose(np.linalg.norm(rows.rows.numpy(), axis=1), 1.0, atol=1e-5)
    # a run of the same benchmark finds every image in the bank cached_features filled
    assert (
        Runner(RunOptions(cache_dir=str(tmp_path), progress=False, workers=0))
        .inputs(RunSpec.make(MODEL, BENCH))
        .stats.encoded
        == 0
    )
    assert cached_features(runner, MODEL, BENCH, limit=3).protocol["counts"]["encoded"] == 0
