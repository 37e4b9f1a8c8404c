"""ImageNet-X: per-factor accuracy and error ratio equal hand computations; annotations are read, filtered and
joined to saved samples as the reference code does."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from tests.helpers import require_shared
from zeroshift.errors import UsageError
from zeroshift.reports.imagenet_x import breakdown_run, factor_names, factor_table, load_annotations
from zeroshift.results.schema import RunRecord, SampleOutputs


def test_factor_table_by_hand():
    # 6 images, factors (a, b, c) in multi-factor style; correct = 1, 0, 1, 1, 0, 1 -> overall 4/6
    flags = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
    correct = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    rows, overall = factor_table(correct, flags, ["a", "b", "c"], n_boot=0)
    assert overall == pytest.approx(4 / 6)
    by = {r.factor: r for r in rows}
    # a: images 0, 1, 4 -> 1/3 correct; error ratio (2/3) / (2/6) = 2
    assert (by["a"].n, by["a"].accuracy, by["a"].error_ratio) == (3, pytest.approx(1 / 3), pytest.approx(2.0))
    # b: images 1, 2, 3 -> 2/3; (1/3) / (1/3) = 1
    assert (by["b"].n, by["b"].accuracy, by["b"].error_ratio) == (3, pytest.approx(2 / 3), pytest.approx(1.0))
    assert by["c"].n == 0 and np.isnan(by["c"].accuracy) and np.isnan(by["c"].error_ratio)


def test_factor_intervals_come_from_resampling_the_whole_run():
    rng = np.random.default_rng(0)
    flags = rng.random((400, 4)) < 0.3
    correct = rng.random(400) < np.where(flags[:, 0], 0.4, 0.8)  # factor 0 makes mistakes likelier
    rows, overall = factor_table(correct, flags, list("wxyz"), n_boot=500, seed=1)
    for r in rows:
        assert r.accuracy_ci[0] <= r.accuracy <= r.accuracy_ci[1]
        assert r.error_ratio_ci[0] <= r.error_ratio <= r.error_ratio_ci[1]
    assert rows[0].error_ratio_ci[0] > 1.2  # clearly harder than average
    # seeded: the same seed gives the same interval
    again, _ = factor_table(correct, flags, list("wxyz"), n_boot=500, seed=1)
    assert again[0].error_ratio_ci == rows[0].error_ratio_ci


def write_annotations(folder, rows, prototypes=()):
    factors = factor_names()
    with gzip.open(folder / "imagenet_x_val_top_factor.jsonl.gz", "wt") as f:
        for name, cls, factor in rows:
            f.write(json.dumps({"file_name": name, "class": cls, **{k: int(k == factor) for k in factors},
                                "justification": "", "one_word": ""}) + "\n")  # fmt: skip
    (folder / "prototypical_paths.csv").write_text("file_name\n" + "".join(f"{p}\n" for p in prototypes))


def val(i):
    return f"ILSVRC2012_val_{i:08d}.JPEG"


def test_annotations_are_read_and_prototypes_left_out(tmp_path):
    write_annotations(tmp_path, [(val(1), 5, "pose"), (val(2), 7, "color"), (val(3), 7, "pose")], [val(3)])
    ann = load_annotations(tmp_path)
    assert ann.files == [val(1), val(2)] and ann.prototypes_removed == 1
    assert ann.flags[:, ann.factors.index("pose")].tolist() == [True, False]
    kept = load_annotations(tmp_path, filter_prototypes=False)
    assert len(kept.files) == 3
    with pytest.raises(UsageError, match="imagenet_x_val_multi_factor.jsonl"):
        load_annotations(tmp_path, which="multi")
    with pytest.raises(UsageError, match="'top' or 'multi'"):
        load_annotations(tmp_path, which="all")


def test_breakdown_joins_saved_samples_by_file_name(tmp_path):
    write_annotations(tmp_path, [(val(1), 5, "pose"), (val(2), 7, "color"), (val(3), 7, "pose"), (val(4), 9, "pose")])
    samples = SampleOutputs(
        [f"n0/{val(1)}", f"n0/{val(2)}", f"n0/{val(3)}", f"n0/{val(4)}", "n0/other.JPEG"],
        [5, 7, 7, 8, 1],  # val(4) is labelled 8 but annotated as class 9: a broken folder
        [[5], [1], [7], [8], [1]],
        [[0.9]] * 5,
    )
    record = RunRecord.new(model="m", benchmark="imagenet(split='val')", shift=None, prompts="p", label_space="full")
    b = breakdown_run(record, samples, load_annotations(tmp_path), n_boot=0)
    assert b.counts["annotated"] == 3 and b.counts["unannotated"] == 1 and b.counts["label_mismatch"] == 1
    rows = {r.factor: r for r in b.rows}
    assert b.accuracy == pytest.approx(2 / 3)
    assert rows["pose"].n == 2 and rows["pose"].accuracy == 1.0 and rows["pose"].error_ratio == 0.0
    assert rows["color"].accuracy == 0.0 and rows["color"].error_ratio == pytest.approx(1 / (1 / 3))
    none = SampleOutputs(["n0/x.JPEG"], [0], [[0]], [[1.0]])
    with pytest.raises(UsageError, match="none of its 1 samples is an annotated"):
        breakdown_run(record, none, load_annotations(tmp_path))


def test_shared_annotations_load_as_published():
    folder = require_shared("reference-results/imagenet_x")
    top = load_annotations(folder)
    assert len(top.files) == 46110 and top.prototypes_removed == 2758
    assert top.flags.sum(axis=1).max() == 1  # one top factor per image (2 rows have none)
    multi = load_annotations(folder, which="multi", filter_prototypes=False)
    assert len(multi.files) == 48868 and multi.flags.sum(axis=1).max() <= 11
    assert set(top.factors) == set(factor_names()) and len(top.factors) == 16
