"""Corruption error, mCE and relative mCE: the shipped AlexNet table against its source, hand-computed cases,
and the cross-model summary built from RunRecords."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.helpers import require_shared
from zeroshift.errors import SpecError
from zeroshift.metrics.base import MetricValue
from zeroshift.metrics.corruption import (
    COMMON,
    EXTRA,
    alexnet_clean_error,
    alexnet_errors,
    corruption_error,
    mean_corruption_error,
    relative_corruption_error,
)
from zeroshift.reports.corruption import corruption_summary
from zeroshift.results.schema import RunRecord
from zeroshift.shifts import make_shift


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_shipped_alexnet_table_equals_the_reference_tables():
    folder = require_shared("reference-results/imagenet_c_alexnet")
    ours = alexnet_errors()
    theirs = {
        (r["corruption"], int(r["severity"])): float(r["alexnet_top1_error"])
        for name in ("alexnet_imagenet_c_top1_error.csv", "alexnet_imagenet_c_extra_top1_error.csv")
        for r in read(folder / name)
    }
    assert ours == theirs and len(ours) == 95
    assert {c for c, _ in ours} == set(COMMON) | set(EXTRA)
    assert alexnet_clean_error() == float(
        read(folder / "alexnet_imagenet_clean_top1_error.csv")[0]["alexnet_top1_error"]
    )
    # the per-corruption averages (the usual mCE denominator / 5) follow from the per-severity values
    for row in read(folder / "alexnet_imagenet_c_ce.csv"):
        mean = np.mean([ours[(row["corruption"], s)] for s in range(1, 6)])
        assert mean == pytest.approx(float(row["alexnet_ce"]), abs=1e-6)


def test_hand_computed_corruption_errors():
    alex = alexnet_errors()
    errors = {1: 0.3, 2: 0.4, 3: 0.5, 4: 0.6, 5: 0.7}
    denominator = sum(alex[("fog", s)] for s in range(1, 6))
    assert corruption_error(errors, "fog") == pytest.approx(2.5 / denominator)
    rel_denominator = sum(alex[("fog", s)] - 0.4348 for s in range(1, 6))
    assert relative_corruption_error(errors, 0.2, "fog") == pytest.approx((2.5 - 5 * 0.2) / rel_denominator)
    # AlexNet itself scores exactly 1 everywhere
    for c in COMMON + EXTRA:
        own = {s: alex[(c, s)] for s in range(1, 6)}
        assert corruption_error(own, c) == pytest.approx(1.0)
        assert relative_corruption_error(own, alexnet_clean_error(), c) == pytest.approx(1.0)
    ce = {c: i / 10 for i, c in enumerate(COMMON)}
    assert mean_corruption_error({**ce, "saturate": 99.0}) == pytest.approx(np.mean(list(ce.values())))
    with pytest.raises(ValueError, match="missing"):
        corruption_error({1: 0.5}, "fog")
    with pytest.raises(ValueError, match="all 15"):
        mean_corruption_error({"fog": 1.0})


def record(model, shift, top1, benchmark="imagenet(split='val')", created="2026-01-01T00:00:00", limit=None):
    rec = RunRecord.new(
        model=model,
        benchmark=benchmark,
        shift=shift,
        prompts="openai",
        label_space="full",
        metrics=[MetricValue("top1", top1, True)],
        config={"limit": limit},
    )
    rec.created_at = created
    return rec


def test_summary_per_model_from_records():
    rng = np.random.default_rng(0)
    alex = alexnet_errors()
    records, expected = [], {}
    for model, clean_top1 in (("m1", 0.8), ("m2", 0.6)):
        records.append(record(model, None, clean_top1))
        ces, rces = {}, {}
        for c in COMMON + EXTRA:
            errs = {s: float(rng.uniform(0.2, 0.9)) for s in range(1, 6)}
            for s, e in errs.items():
                records.append(record(model, make_shift(f"corruption(name='{c}', severity={s})").canonical, 1 - e))
            ces[c] = sum(errs.values()) / sum(alex[(c, s)] for s in range(1, 6))
            rces[c] = sum(e - (1 - clean_top1) for e in errs.values()) / sum(alex[(c, s)] - 0.4348 for s in range(1, 6))
        expected[model] = (np.mean([ces[c] for c in COMMON]), np.mean([rces[c] for c in COMMON]), ces)
    records.append(record("m1", None, 0.1, benchmark="imagenet_r"))  # other benchmarks are ignored
    summaries = {s.model: s for s in corruption_summary(reversed(records))}
    assert set(summaries) == {"m1", "m2"}
    for model, (mce, rmce, ces) in expected.items():
        s = summaries[model]
        assert s.mce == pytest.approx(mce) and s.relative_mce == pytest.approx(rmce)
        assert s.ce == pytest.approx(ces) and s.missing == [] and s.comparable and s.source == "on-the-fly"
        assert len(s.rows()) == 19 and s.rows()[-1]["set"] == "extra"
    assert summaries["m1"].clean_error == pytest.approx(0.2)


def test_summary_marks_gaps_reruns_and_protocols():
    fog = [record("m", f"corruption(name='fog', severity={s})", 0.5) for s in range(1, 6)]
    newer = record("m", "corruption(name='fog', severity=5)", 0.9, created="2026-02-01T00:00:00")
    (s,) = corruption_summary([*fog, newer])
    assert s.errors["fog"][5] == pytest.approx(0.1)  # the newest record of a condition counts
    assert s.mce is None and s.relative_mce is None and "fog@1" not in s.missing and "snow@3" in s.missing
    assert s.clean_error is None and "fog" in s.ce and "fog" not in s.relative_ce
    # the released JPEGs pair with the imagenet clean run; a --limit subset is its own protocol, not comparable
    released = [record("m", None, 0.7)] + [
        record("m", None, 0.4, benchmark=f"imagenet_c(corruption='snow', severity={k})") for k in range(1, 6)
    ]
    limited = [record("m", f"corruption(name='snow', severity={k})", 0.5, limit=100) for k in range(1, 6)]
    by_source = {(x.source, x.limit): x for x in corruption_summary(released + limited)}
    rel = by_source[("released", None)]
    assert rel.clean_error == pytest.approx(0.3) and rel.comparable and "snow" in rel.relative_ce
    assert not by_source[("on-the-fly", 100)].comparable


def test_corruption_spec_errors_are_one_line():
    for bad, message in [
        ("corruption(name='fgo', severity=3)", "unknown corruption 'fgo'; did you mean 'fog'"),
        ("corruption(name='fog', severity=0)", "severity must be an integer from 1 to 5"),
        ("corruption(name='fog', severity=6)", "severity must be an integer from 1 to 5"),
        ("corruption(name='fog', severity=2.5)", "severity must be an integer from 1 to 5"),
        ("corruption(name='fog', severity=True)", "severity must be an integer from 1 to 5"),
        ("corruption(name='fog')", "give severity"),
        ("corruption(severity=2)", "give name"),
        ("corruption(name='fog', severity=2, level=1)", "unknown parameter 'level'"),
    ]:
        with pytest.raises(SpecError, match=message) as info:
            make_shift(bad)
        assert "\n" not in str(info.value)
