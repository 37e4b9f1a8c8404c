"""The 3D corruptions in the report: a section of their own, next to the 2D corruption each resembles, and never
mixed into the ImageNet-C corruption section, its summary (CE, mCE) or effective robustness."""

from __future__ import annotations

from zeroshift.metrics.base import MetricValue
from zeroshift.reports.corruption import corruption_summary
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.sections import ordered
from zeroshift.reports.html.sections.common import is_distribution_shift
from zeroshift.reports.html.sections.corruptions import grid
from zeroshift.reports.html.sections.corruptions3d import Corruption3DSection, grid3d
from zeroshift.results.schema import RunRecord

FW = "factorworld(n=64, seed=0)"


def rec(benchmark, value, shift=None):
    return RunRecord.new(model="zoo:a", benchmark=benchmark, shift=shift, prompts="openai", label_space="native",
                         model_info={"kind": "zero_shot"}, metrics=[MetricValue("top1", value, True)])  # fmt: skip


def records():
    fog3d = "corruption3d(depth='factorworld', name='fog_3d', severity={})"
    return [
        rec(FW, 0.8),
        rec(FW, 0.6, fog3d.format(3)),
        rec(FW, 0.4, fog3d.format(5)),
        rec(FW, 0.7, "corruption(name='fog', severity=3)"),
        rec(FW, 0.5, "corruption(name='fog', severity=5)"),
        rec("imagenet_3dcc(corruption='near_focus', severity=2)", 0.3),
    ]


def test_the_section_draws_severity_curves_and_the_2d_counterpart():
    data = ReportData(records())
    assert "corruptions3d" in [s.name for s in ordered()]
    section = Corruption3DSection()
    assert all(r.met(data) for r in section.requires)
    content = section.build(data)
    titles = [f.title for f in content.figures]
    assert "fog 3d (3D)" in titles and "near focus (3D)" in titles
    (versus,) = [f for f in content.figures if f.title.startswith("Mean") and f.group == FW]
    (row,) = versus.rows
    # by hand: 3D (0.6 + 0.4) / 2, 2D fog (0.7 + 0.5) / 2
    assert row["corruption3d"] == "fog_3d" and row["resembles_2d"] == "fog"
    assert abs(row["mean_top1_over_severities"] - 0.5) < 1e-12 and abs(row["mean_top1_2d"] - 0.6) < 1e-12
    entry = data.entries[0].id
    assert grid3d(data)[entry][FW]["fog_3d"][0].value.value == 0.8  # severity 0 is the clean run
    (column,) = section.summary(data)
    assert abs(column.values[entry].value - (0.6 + 0.4 + 0.3) / 3) < 1e-12


def test_3d_conditions_stay_out_of_the_2d_analyses():
    data = ReportData(records())
    entry = data.entries[0].id
    assert set(grid(data)[entry][FW]) == {"fog"}  # the ImageNet-C section sees only the 2D corruption
    assert "imagenet(split='val')" not in grid(data)[entry]
    for summary in corruption_summary(records()):
        assert set(summary.ce) <= {"fog"}
    kinds = {c.info["kind"] for c in data.conditions if c.info.get("corruption3d")}
    assert kinds == {"corruption3d"}
    assert not any(is_distribution_shift(c) for c in data.conditions if c.info.get("corruption3d"))
