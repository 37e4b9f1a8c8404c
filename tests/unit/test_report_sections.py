import json
import math
import re
import types
from types import SimpleNamespace

import numpy as np
import pytest

from tests.report_fixtures import synthetic_records
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html.data import Condition, ReportData
from zeroshift.reports.html.sections import corruptions as corruption_section
from zeroshift.reports.html.sections import effective_robustness as er_section
from zeroshift.reports.html.sections import factors as factor_section
from zeroshift.reports.html.sections import ordered
from zeroshift.reports.html.sections import shape_bias as shape_section
from zeroshift.reports.html.sections.common import in_distribution
from zeroshift.reports.html.sections.corruptions import CorruptionSection, grid
from zeroshift.reports.html.sections.effective_robustness import EffectiveRobustnessSection, pairs
from zeroshift.reports.html.sections.factors import FactorSection
from zeroshift.reports.html.sections.shape_bias import ShapeBiasSection
from zeroshift.reports.html.sections.shape_bias import per_category as per_category_of
from zeroshift.reports.html.sections.six_factors import SixFactorSection, groups, members
from zeroshift.results.schema import RunRecord

IMAGENET = "imagenet(split='val')"
FW = "factorworld(n=1000, seed=0)"
FW_SKETCH = "factorworld_sketch(n=1000, seed=0)"


def rec(model, benchmark, metrics, shift=None, space="full", prompts="openai", **info):
    return RunRecord.new(
        model=model,
        benchmark=benchmark,
        shift=shift,
        prompts=prompts,
        label_space=space,
        model_info={"kind": "zero_shot", **info},
        metrics=metrics,
    )


def top1(v, lo=None, hi=None):
    return MetricValue("top1", v, True, lo, hi)


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def logit(p):
    return math.log(p / (1 - p))


def test_newest_record_per_metric_wins_and_older_metrics_stay():
    first = rec("zoo:a", IMAGENET, [top1(0.5), MetricValue("ece", 0.1, False)])
    first.created_at = "2024-01-01T00:00:00+00:00"
    second = rec("zoo:a", IMAGENET, [top1(0.6)])
    second.created_at = "2024-01-02T00:00:00+00:00"
    data = ReportData([second, first])  # given out of order
    e, c = data.entries[0], data.conditions[0]
    assert data.metric(e, c, "top1").value == 0.6  # the newer run
    assert data.metric(e, c, "ece").value == 0.1  # not hidden by a later run of another group
    assert data.cell(e, c, "ece").record is first


def test_entries_are_model_times_prompts_with_labels():
    data = ReportData(
        [
            rec("zoo:a", IMAGENET, [top1(0.5)], prompts="openai"),
            rec("zoo:a", IMAGENET, [top1(0.4)], prompts="simple"),
            rec("zoo:b", IMAGENET, [top1(0.3)]),
        ]
    )
    assert [e.label for e in data.entries] == ["zoo:a · openai", "zoo:a · simple", "zoo:b"]
    assert len({e.id for e in data.entries}) == 3 and len({e.color for e in data.entries}) == 3


def test_in_distribution_pairs():
    data = ReportData(
        [
            rec("zoo:a", IMAGENET, [top1(0.7)]),
            rec("zoo:a", "imagenet_r", [top1(0.4)], space="subset"),
            rec("zoo:a", IMAGENET, [top1(0.5)], shift="corruption(name='fog', severity=2)"),
            rec("zoo:a", "imagenet_c(corruption='fog', severity=1)", [top1(0.6)]),
            rec("zoo:a", "factorworld", [top1(0.9)]),
        ]
    )
    by_spec = {c.spec: c for c in data.conditions}
    clean = Condition(IMAGENET, None, "full")
    assert in_distribution(data, by_spec["imagenet_r [subset]"]) == clean
    assert in_distribution(data, by_spec[f"{IMAGENET} + corruption(name='fog', severity=2)"]) == clean
    assert in_distribution(data, by_spec["imagenet_c(corruption='fog', severity=1)"]) == clean
    assert in_distribution(data, by_spec["factorworld"]) is None
    assert in_distribution(data, clean) is None
    # readable labels from the structured fields, unique, never the spec strings
    labels = {c.spec: c.label for c in data.conditions}
    assert labels["imagenet_r [subset]"] == "ImageNet-R"
    # on-the-fly and released corruptions: two benchmarks, so each is named with its own
    assert labels[f"{IMAGENET} + corruption(name='fog', severity=2)"] == "ImageNet: fog, severity 2"
    assert labels["imagenet_c(corruption='fog', severity=1)"] == "ImageNet-C: fog, severity 1"
    assert labels[IMAGENET] == "ImageNet"
    assert len(set(labels.values())) == len(labels)


def test_labels_tell_conditions_apart_by_what_differs():
    fw = "factorworld(n={}, seed=0)"
    records = [
        rec("zoo:a", fw.format(1000), [top1(0.9)], space="native"),
        rec("zoo:a", fw.format(100), [top1(0.8)], space="native"),
        rec("zoo:a", fw.format(100), [top1(0.5)], space="native", shift="pgd(eps='2/255')"),
        rec("zoo:a", fw.format(200), [top1(0.5)], space="native", shift="typographic(text='random')"),
        rec("zoo:a", "imagenet_r", [top1(0.5)], space="subset"),
        rec("zoo:a", "imagenet_r", [top1(0.4)], space="full"),
        rec("zoo:a", IMAGENET, [top1(0.4)], shift="corruption(name='fog', severity=2)"),
    ]
    data = ReportData(records)
    labels = {c.spec: c.label for c in data.conditions}
    assert labels[fw.format(1000) + " [native]"] == "FactorWorld · 1000-image split"
    assert labels[fw.format(100) + " [native]"] == "FactorWorld · 100-image split"
    # shifted conditions of several benchmarks are named with their benchmark
    assert labels[fw.format(100) + " + pgd(eps='2/255') [native]"] == "FactorWorld: PGD L-inf 2/255"
    assert labels[fw.format(200) + " + typographic(text='random') [native]"] == (
        "FactorWorld: typographic: random wrong word"
    )
    assert labels["imagenet_r [subset]"] == "ImageNet-R · subset labels"
    assert labels["imagenet_r"] == "ImageNet-R · full labels"
    assert labels[f"{IMAGENET} + corruption(name='fog', severity=2)"] == "ImageNet: fog, severity 2"
    for label in labels.values():
        assert "n=" not in label and "seed=" not in label and "(" not in label
    # ordered by kind: in distribution first, then shifts, attacks last
    assert [c.kind for c in data.conditions][:2] == ["in_distribution", "in_distribution"]
    assert data.conditions[-1].kind == "adversarial"


def test_sections_render_only_with_their_measurements():
    only_accuracy = ReportData([rec("zoo:a", IMAGENET, [top1(0.7)])])
    built = {s.name for s in ordered() if s.available(only_accuracy)}
    assert built == {"accuracy"}
    everything = ReportData(synthetic_records())
    assert {s.name for s in ordered() if s.available(everything)} == {
        "accuracy",
        "effective_robustness",
        "corruptions",
        "typographic",
        "adversarial",
        "calibration",
        "ood",
        "shape_bias",
        "factors",
        "six_factors",
    }
    missing = {s.name: s.missing(only_accuracy) for s in ordered()}
    assert missing["calibration"] == ["ece"] and missing["shape_bias"] == ["shape_bias"]


def test_store_trend_recovers_the_line_and_effective_robustness_with_intervals():
    slope, intercept = 0.8, -0.5
    records = []
    for i, acc in enumerate((0.55, 0.65, 0.72, 0.8)):  # supervised FactorWorld classifiers exactly on the trend
        m = f"zoo:sup{i}"
        info = {"kind": "fixed_head", "training_data": "FactorWorld-narrow"}
        records.append(rec(m, FW, [top1(acc)], space="native", **info))
        records.append(rec(m, FW_SKETCH, [top1(sigmoid(slope * logit(acc) + intercept))], space="native", **info))
    records.append(rec("zoo:clip", FW, [top1(0.6)], space="native"))
    records.append(rec("zoo:clip", FW_SKETCH, [top1(0.5)], space="native"))
    # a classifier trained on another distribution is not part of the baseline population
    records.append(rec("zoo:other", FW, [top1(0.3)], space="native", kind="fixed_head", training_data="elsewhere"))
    records.append(rec("zoo:other", FW_SKETCH, [top1(0.3)], space="native", kind="fixed_head", training_data="x"))
    data = ReportData(records)
    assert [(a.benchmark, b.benchmark) for a, b in pairs(data)] == [(FW_SKETCH, FW)]
    section = EffectiveRobustnessSection()
    plot = section.analyse(data)[0][0]
    assert f"logit(acc_shift) = {slope:.3f} * logit(acc_id) + {intercept:.3f}" in plot.protocol["fit"]
    assert plot.trend.predict(0.9) == pytest.approx(sigmoid(slope * logit(0.9) + intercept))
    assert "4 supervised FactorWorld-narrow models" in plot.trend.source
    content = section.build(data)
    row = next(r for r in content.figures[0].rows if r["model"] == "zoo:clip")
    assert row["effective_robustness"] == pytest.approx(0.5 - sigmoid(slope * logit(0.6) + intercept))
    # the one trend fit gives intervals (a population exactly on a line: the interval is the point)
    assert row["effective_robustness_ci_low"] == pytest.approx(row["effective_robustness"], abs=1e-9)
    assert row["relative_robustness"] == pytest.approx(0.5 / 0.6)
    summary = section.summary(data)[0].values
    clip = next(e.id for e in data.entries if e.model == "zoo:clip")
    assert summary[clip].value == pytest.approx(row["effective_robustness"])


def test_no_store_trend_with_fewer_than_three_supervised_models():
    records = []
    for i, (acc, shifted) in enumerate(((0.5, 0.4), (0.6, 0.5))):
        info = {"kind": "fixed_head", "training_data": "FactorWorld-narrow"}
        records += [rec(f"zoo:s{i}", FW, [top1(acc)], space="native", **info)]
        records += [rec(f"zoo:s{i}", FW_SKETCH, [top1(shifted)], space="native", **info)]
    plot = EffectiveRobustnessSection().analyse(ReportData(records))[0][0]
    assert plot.trend is None and plot.protocol["fit"] == "none" and "fewer than 3" in plot.notes[0]


def test_effective_robustness_shows_distribution_shifts_only():
    records = [
        rec("zoo:a", FW, [top1(0.9)], space="native"),
        rec("zoo:a", FW, [top1(0.5)], space="native", shift="pgd(eps='2/255')"),
        rec("zoo:a", FW, [top1(0.6)], space="native", shift="corruption(name='fog', severity=3)"),
        rec("zoo:a", FW, [top1(0.7)], space="native", shift="typographic(text='random')"),
        rec("zoo:a", FW_SKETCH, [top1(0.6)], space="native"),
    ]
    assert [a.benchmark for a, _ in pairs(ReportData(records))] == [FW_SKETCH]


def test_effective_robustness_section_lists_no_attack_or_corruption():
    """Every figure, table row and data row of the section is a distribution shift: attacks, corruptions (on the
    fly or released as ImageNet-C) and typographic attacks have their own sections."""
    records = []
    for i, acc in enumerate((0.5, 0.6, 0.7, 0.8)):
        info = {"kind": "fixed_head", "training_data": "FactorWorld-narrow"}
        records += [
            rec(f"zoo:s{i}", FW, [top1(acc)], space="native", **info),
            rec(f"zoo:s{i}", FW_SKETCH, [top1(acc - 0.2)], space="native", **info),
            rec(f"zoo:s{i}", FW, [top1(acc - 0.3)], space="native", shift="pgd(eps='2/255')", **info),
            rec(f"zoo:s{i}", FW, [top1(acc - 0.1)], space="native", shift="corruption(name='fog', severity=3)", **info),
            rec(f"zoo:s{i}", FW, [top1(acc - 0.1)], space="native", shift="typographic(text='random')", **info),
            rec(f"zoo:s{i}", IMAGENET, [top1(acc)], **info),
            rec(f"zoo:s{i}", "imagenet_c(corruption='fog', severity=2)", [top1(acc - 0.2)], **info),
            rec(f"zoo:s{i}", "imagenet_v2(variant='matched-frequency')", [top1(acc - 0.1)], **info),
        ]
    data = ReportData(records)
    shifts = {c.label for c in data.conditions if c.kind == "natural_shift"}
    others = {c.label for c in data.conditions if c.kind in ("adversarial", "corruption", "typographic")}
    assert shifts == {"FactorWorld sketch", "ImageNet-V2"} and len(others) == 4
    section = EffectiveRobustnessSection()
    assert section.available(data)
    content = section.build(data)
    titles = [f.title.split(" vs ")[0] for f in content.figures]
    assert titles and set(titles) <= shifts
    assert {r["shift"] for f in content.figures for r in f.rows} <= shifts
    assert {row[1].text for row in content.tables[0].rows} <= shifts
    for f in content.figures:
        for label in others:
            assert label not in f.svg and label not in f.title
        assert "pgd" not in f.svg.lower() and "corruption" not in f.svg and "typographic" not in f.svg


def test_trend_and_points_come_from_the_analysis_module_when_installed(monkeypatch):
    fit = SimpleNamespace(
        transform="logit",
        slope=1.0,
        intercept=-1.0,
        slope_ci=(0.9, 1.1),
        r=0.99,
        predict=lambda a: sigmoid(logit(a) - 1.0),
    )
    row = SimpleNamespace(
        model="zoo:a",
        prompts="openai",
        shift="imagenet_v2",
        acc_id=0.62,
        acc_shift=0.41,
        effective_robustness=0.05,
        ci_low=0.01,
        ci_high=0.09,
    )
    module = types.ModuleType("fake_er")
    module.analyze_effective_robustness = lambda records, baseline: SimpleNamespace(
        fits=[SimpleNamespace(shift="imagenet_v2", population=f"{baseline} (3 published models)", fit=fit)],
        rows=[row],
        notes=["zoo:a (openai): imagenet_r has no matching imagenet run"],
        protocol={"transform": "logit", "baseline": baseline, "id_axis": {"imagenet_v2": "top1"}},
    )
    module.baseline_points = lambda shift, baseline: (
        ["a", "b", "c"],
        np.array([0.5, 0.6, 0.7]),
        np.array([0.3, 0.4, 0.5]),
    )
    monkeypatch.setattr(er_section, "analyze_effective_robustness", module.analyze_effective_robustness)
    monkeypatch.setattr(er_section, "baseline_points", module.baseline_points)
    data = ReportData(
        [
            rec("zoo:a", IMAGENET, [top1(0.6)]),
            rec("zoo:a", "imagenet_v2(variant='matched-frequency')", [top1(0.4)]),
            rec("zoo:a", "imagenet_sketch", [top1(0.2)]),
        ]
    )
    content = EffectiveRobustnessSection().build(data)
    by_title = {f.title.split(" vs ")[0]: f for f in content.figures}
    assert sorted(by_title) == ["ImageNet-Sketch", "ImageNet-V2"]  # v2 from the analysis, sketch paired here
    v2 = by_title["ImageNet-V2"]
    assert "testbed (3 published models)" in v2.protocol["fit"] and "slope 95% [0.900, 1.100]" in v2.protocol["fit"]
    assert v2.rows[0]["acc_id"] == 0.62 and v2.rows[0]["effective_robustness"] == 0.05  # the analysis' values
    assert v2.rows[0]["effective_robustness_ci_low"] == 0.01
    assert v2.svg.count("baseline population") == 3  # the published population, in grey
    assert by_title["ImageNet-Sketch"].protocol["fit"] == "none"
    assert v2.title == "ImageNet-V2 vs ImageNet"  # the in-distribution set the records name
    assert IMAGENET in v2.tooltip and "matched-frequency" in v2.tooltip  # the specs stay in the tooltip
    assert content.notes == ["zoo:a (openai): imagenet_r has no matching imagenet run"]


def test_corruption_grid_curves_and_mce_from_the_analysis(monkeypatch):
    records = [rec("zoo:a", IMAGENET, [top1(0.8)])]
    for sev, acc in zip(range(1, 6), (0.7, 0.6, 0.5, 0.4, 0.3), strict=True):
        records.append(rec("zoo:a", IMAGENET, [top1(acc)], shift=f"corruption(name='fog', severity={sev})"))
    records.append(rec("zoo:a", "imagenet_c(corruption='snow', severity=2)", [top1(0.45)]))
    data = ReportData(records)
    g = grid(data)[data.entries[0].id]
    assert sorted(g[IMAGENET]["fog"]) == [0, 1, 2, 3, 4, 5] and g[IMAGENET]["fog"][0].value.value == 0.8
    assert sorted(g[IMAGENET]["snow"]) == [0, 2]  # released ImageNet-C joins the clean imagenet run
    seen = {}

    def corruption_summary(records):
        seen["records"] = records
        summary = SimpleNamespace(model="zoo:a", prompts="openai", benchmark=IMAGENET, source="on-the-fly")
        summary.__dict__.update(ce={"fog": 0.9}, relative_ce={"fog": 1.1}, mce=0.75, relative_mce=0.8)
        summary.__dict__.update(comparable=False, notes=["a note"])
        return [summary]

    module = types.ModuleType("fake_corruption")
    module.corruption_summary = corruption_summary
    monkeypatch.setattr(corruption_section, "corruption_summary", module.corruption_summary)
    section = CorruptionSection()
    content = section.build(data)
    assert len(seen["records"]) == len(records)
    # small multiples: one figure of one panel per corruption (one legend), then the overview
    assert content.figures[0].title == "Top-1 against severity, per corruption (ImageNet)"
    assert content.figures[0].svg.count('class="pt c"') == 2  # the fog and snow panels
    assert {r["corruption"] for r in content.figures[0].rows} == {"fog", "snow"}
    overview = next(f for f in content.figures if "overview" in f.id)
    fog = next(r for r in overview.rows if r.get("corruption") == "fog")
    assert fog["mean_top1_over_severities"] == pytest.approx(0.5) and fog["ce"] == 0.9
    assert content.tables[0].rows[0][3].sort == 0.75
    summary = {c.title: c for c in section.summary(ReportData(records))}
    assert summary["mCE"].values[data.entries[0].id].value == 0.75


def test_shape_bias_per_category_and_humans(monkeypatch, tmp_path):
    per_category = {"dog": {"shape": 7, "texture": 3, "shape_bias": 0.7, "ci_low": 0.5, "ci_high": 0.9}}
    records = [
        rec("zoo:a", "cue_conflict", [MetricValue("shape_bias", 0.4, True, details={"per_category": {"cat": 0.2}})]),
        rec("zoo:b", "cue_conflict", [MetricValue("shape_bias", 0.6, True, details={"per_category": per_category})]),
    ]
    data = ReportData(records)
    cats = per_category_of(data)
    a, b = (e.id for e in data.entries)
    assert cats[a]["cat"].y == 0.2 and (cats[b]["dog"].y, cats[b]["dog"].lo) == (0.7, 0.5)
    content = ShapeBiasSection().build(data)
    assert "humans" not in content.figures[0].svg and "--humans DIR" in content.figures[0].notes[0]
    module = types.ModuleType("fake_shape")
    module.human_reference = lambda folder: SimpleNamespace(
        shape_bias=0.96, per_category={"dog": 0.98}, n_subjects=10, source=str(folder)
    )
    monkeypatch.setattr(shape_section, "human_shape_bias", module.human_reference)
    content = ShapeBiasSection().build(ReportData(records, references={"humans": tmp_path}))
    assert content.figures[0].protocol["human reference"].startswith("0.960, pooled over the trials of 10 observers")
    assert "humans" in content.figures[0].svg
    per_cat = content.figures[1]
    assert ("humans", "#b00") in per_cat.legend
    assert {"model": "humans", "category": "dog", "shape_bias": 0.98} in per_cat.rows


def test_factor_levels_error_ratios():
    details = {"factor": "style", "level": "sketch", "n": 10, "error_ratio": 1.5}
    data = ReportData([rec("zoo:a", "factorworld", [MetricValue("top1[style=sketch]", 0.4, True, 0.3, 0.5, details)])])
    section = FactorSection()
    assert section.available(data)
    fig = section.build(data).figures[0]
    assert fig.rows[0]["error_ratio"] == 1.5 and fig.rows[0]["level"] == "sketch"
    assert "style = sketch" in fig.svg


def test_six_factors_count_each_model_once():
    records = [
        rec("zoo:a", IMAGENET, [top1(0.6)], prompts="openai", family="ViT"),
        rec("zoo:a", IMAGENET, [top1(0.5)], prompts="simple", family="ViT"),
        rec("zoo:b", IMAGENET, [top1(0.8)], prompts="openai", family="ViT"),
        rec("zoo:c", IMAGENET, [top1(0.3)], prompts="openai", family="ResNet"),
    ]
    data = ReportData(records)
    assert sorted(e.label for e in members(data, "family")) == ["zoo:a · openai", "zoo:b", "zoo:c"]
    assert sorted(e.label for e in members(data, "prompts")) == ["zoo:a · openai", "zoo:a · simple"]
    assert {k: len(v) for k, v in groups(data, "family").items()} == {"ResNet": 1, "ViT": 2}
    content = SixFactorSection().build(data)
    family = next(f for f in content.figures if f.id == "six-factors-family")
    vit = next(r for r in family.rows if r["group"] == "ViT")
    assert vit["mean_top1"] == pytest.approx(np.mean([0.6, 0.8])) and vit["n_models"] == 2
    prompts = next(f for f in content.figures if f.id == "six-factors-prompts")
    assert {r["group"]: r["mean_top1"] for r in prompts.rows} == {"openai": 0.6, "simple": 0.5}


def test_non_finite_values_and_odd_records_still_build(tmp_path):
    from zeroshift.reports.html.page import render

    nan, inf = float("nan"), float("inf")
    records = [
        rec("zoo:a", IMAGENET, [top1(nan, nan, nan), MetricValue("ece", inf, False, details={"bins": [{"lo": 0}]})]),
        rec("zoo:a", "imagenet_sketch", [top1(0.3, None, None)]),
        rec(
            "zoo:b",
            "cue_conflict",
            [MetricValue("shape_bias", 0.5, True, details={"per_category": {"dog": {"ci_low": nan}}})],
        ),
        rec("zoo:c", "b", []),  # a record without metrics
        rec("zoo:d", "o", [MetricValue("msp_auroc", 0.7, True, details={"histogram": {"edges": [0, 1], "id": [nan]}})]),
    ]
    result = render(records, tmp_path / "r.html")
    assert set(result.sections) >= {"accuracy", "calibration", "shape_bias", "ood"}
    for path in result.data_dir.glob("*.json"):
        json.loads(path.read_text())  # strict JSON: no NaN or Infinity
    assert "NaN" not in (result.data_dir / "accuracy-top1-in-distribution.json").read_text()
    html = result.path.read_text()
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        for name, value in re.findall(r'([a-z][a-z0-9-]*)="([^"]*)"', svg):
            if name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "points"):
                assert not re.search(r"nan|inf", value, re.I), (name, value)


def test_imagenet_x_breakdown_from_the_analysis(monkeypatch, tmp_path):
    record = rec("zoo:a", IMAGENET, [top1(0.7)])
    row = SimpleNamespace(factor="pose", n=40, accuracy=0.5, error_ratio=1.67, error_ratio_ci=(1.2, 2.1))
    seen = {}

    def analyze(store, folder):
        seen["args"] = (store, folder)
        return [SimpleNamespace(record=record, rows=[row], protocol={"factors": "top", "bootstrap": {"n": 1}})]

    module = types.ModuleType("fake_inx")
    module.analyze_imagenet_x = analyze
    monkeypatch.setattr(factor_section, "analyze_imagenet_x", module.analyze_imagenet_x)
    section = FactorSection()
    assert not section.available(ReportData([record]))  # no factor metrics, no annotations given
    data = ReportData([record], store="STORE", references={"imagenet_x": tmp_path})
    assert section.available(data)
    fig = section.build(data).figures[0]
    assert seen["args"] == ("STORE", tmp_path)
    assert fig.id == "factors-imagenet-x" and fig.protocol["factors"] == "top" and "bootstrap" not in fig.protocol
    assert fig.rows == [
        {
            "model": "zoo:a",
            "prompts": "openai",
            "benchmark": IMAGENET,
            "factor": "pose",
            "n": 40,
            "accuracy": 0.5,
            "error_ratio": 1.67,
            "ci_low": 1.2,
            "ci_high": 2.1,
        }
    ]
