"""No analysis silently mixes --limit runs with full runs (issue 11, item 2)."""

from __future__ import annotations

import pytest

from zeroshift.metrics.base import MetricValue
from zeroshift.reports.base import latest
from zeroshift.reports.effective_robustness import analyze_effective_robustness
from zeroshift.reports.html.data import ReportData
from zeroshift.results.schema import RunRecord

IMAGENET = "imagenet(split='val')"


def rec(model, benchmark, top1, when, limit=None, space="full", sub=None, **info):
    metrics = [MetricValue("top1", top1, True)]
    if sub is not None:
        metrics.append(MetricValue("top1_on_imagenet_r_classes", sub, True))
    r = RunRecord.new(model=model, benchmark=benchmark, shift=None, prompts="openai", label_space=space,
                      model_info={"kind": "zero_shot", **info}, metrics=metrics, config={"limit": limit})  # fmt: skip
    r.created_at = when
    return r


def store(later_limited: bool) -> list[RunRecord]:
    records = []
    for i, (acc, shifted) in enumerate(((0.6, 0.2), (0.7, 0.3), (0.8, 0.4))):
        records += [rec(f"timm:s{i}", IMAGENET, acc, "1", sub=acc, loss="supervised", kind="fixed_head")]
        records += [rec(f"timm:s{i}", "imagenet_r", shifted, "1", space="subset", loss="supervised", kind="fixed_head")]
    records += [rec("clip", IMAGENET, 0.7, "1", sub=0.75), rec("clip", "imagenet_r", 0.6, "1", space="subset")]
    if later_limited:  # a quick look afterwards: 20 images, a very different accuracy
        records += [rec("clip", IMAGENET, 0.1, "2", limit=20, sub=0.05)]
    return records


def er_of(records):
    report = analyze_effective_robustness(records, baseline="store", population_filter={"loss": "supervised"},
                                          shifts=["imagenet_r"], n_boot=50)  # fmt: skip
    return next(r for r in report.rows if r.model == "clip"), report


def test_a_later_limited_run_never_replaces_the_full_one():
    full, _ = er_of(store(later_limited=False))
    mixed, report = er_of(store(later_limited=True))
    assert mixed.acc_id == full.acc_id == 0.75
    assert mixed.effective_robustness == pytest.approx(full.effective_robustness)
    assert "--limit run never replaces a full run" in report.protocol["records"]


def test_runs_of_different_subsets_are_not_paired_and_say_so():
    records = [r for r in store(False) if not (r.model == "clip" and r.benchmark == IMAGENET)]
    records.append(rec("clip", IMAGENET, 0.1, "2", limit=20, sub=0.05))
    report = analyze_effective_robustness(records, baseline="store", population_filter={"loss": "supervised"},
                                          shifts=["imagenet_r"], n_boot=50)  # fmt: skip
    assert "clip" not in {r.model for r in report.rows}
    assert any("different subsets" in n and "clip" in n for n in report.notes)


def test_latest_prefers_full_runs_and_the_report_does_too():
    records = store(later_limited=True)
    chosen = {(r.model, r.benchmark): r for r in latest(records)}
    assert chosen[("clip", IMAGENET)].metric("top1").value == 0.7
    data = ReportData(records)
    entry = data.entry("clip", "openai")
    cond = next(c for c in data.conditions if c.benchmark == IMAGENET)
    assert data.metric(entry, cond, "top1").value == 0.7
    # a condition with only limited runs still shows (its newest limited run)
    only = ReportData([rec("clip", "x", 0.3, "1", limit=10), rec("clip", "x", 0.4, "2", limit=10)])
    assert only.metric(only.entries[0], only.conditions[0], "top1").value == 0.4
