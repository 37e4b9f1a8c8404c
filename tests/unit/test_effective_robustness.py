"""Effective robustness: the trend fit recovers known trends, its intervals shrink with the population, the shipped
baseline equals its published sources, and the store analysis places models against the trend."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import special, stats

from tests.helpers import require_shared
from zeroshift.errors import UsageError
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.base import info_csv
from zeroshift.reports.effective_robustness import (
    analyze_effective_robustness,
    baseline_points,
    effective_robustness,
    fit_trend,
    inverse_transform,
    transform,
)
from zeroshift.results.schema import RunRecord


def synthetic_population(n, slope=0.85, intercept=-0.7, noise=0.15, seed=0, kind="logit"):
    """ID accuracies uniform in [0.55, 0.9]; shifted accuracies on the trend plus Gaussian noise in T-space."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.55, 0.9, n)
    y = inverse_transform(slope * transform(x, kind) + intercept + rng.normal(0, noise, n), kind)
    return x, y


def test_fit_equals_least_squares_of_scipy():
    x, y = synthetic_population(60, seed=3)
    fit = fit_trend(x, y, n_boot=200)
    ref = stats.linregress(special.logit(x), special.logit(y))
    assert fit.slope == pytest.approx(ref.slope, abs=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, abs=1e-12)
    assert fit.r == pytest.approx(ref.rvalue, abs=1e-12)
    assert fit.n == 60


@pytest.mark.parametrize("kind", ["logit", "probit"])
def test_fit_recovers_a_known_trend(kind):
    x, y = synthetic_population(400, slope=0.85, intercept=-0.7, noise=0.1, seed=1, kind=kind)
    fit = fit_trend(x, y, kind, n_boot=1000)
    assert fit.slope == pytest.approx(0.85, abs=0.05)
    assert fit.intercept == pytest.approx(-0.7, abs=0.06)
    assert fit.slope_ci[0] <= 0.85 <= fit.slope_ci[1]
    assert fit.intercept_ci[0] <= -0.7 <= fit.intercept_ci[1]
    # the expected accuracy at an ID accuracy is the inverse transform of the line
    assert float(fit.predict(0.8)) == pytest.approx(
        float(inverse_transform(fit.slope * transform(0.8, kind) + fit.intercept, kind)), abs=1e-12
    )


def test_intervals_shrink_as_the_population_grows():
    sizes = (12, 48, 192, 768)
    widths, band = [], []
    for n in sizes:  # average over a few populations per size: one small population can be lucky
        w, b = [], []
        for rep in range(5):
            x, y = synthetic_population(n, seed=1000 * n + rep)
            fit = fit_trend(x, y, n_boot=1000, seed=rep)
            w.append(fit.slope_ci[1] - fit.slope_ci[0])
            lo, hi = fit.predict_ci(0.75)
            b.append(float(hi[0] - lo[0]))
        widths.append(float(np.mean(w)))
        band.append(float(np.mean(b)))
    print("mean slope CI widths for n =", sizes, ":", [round(v, 4) for v in widths])
    assert all(a > b for a, b in zip(widths, widths[1:], strict=False))
    assert all(a > b for a, b in zip(band, band[1:], strict=False))
    # 64x the models: about 8x narrower (1/sqrt(n)); at least 5x
    assert widths[0] / widths[-1] > 5


def test_slope_interval_covers_the_truth_at_about_the_nominal_rate():
    trials = 200
    covered = 0
    for seed in range(trials):
        x, y = synthetic_population(50, seed=100 + seed)
        fit = fit_trend(x, y, n_boot=500, seed=seed)
        covered += fit.slope_ci[0] <= 0.85 <= fit.slope_ci[1]
    print(f"slope 95% interval covered the true slope in {covered}/{trials} populations of 50 models")
    assert 0.90 <= covered / trials <= 0.99


def test_effective_robustness_of_a_point_above_the_trend():
    x = np.linspace(0.5, 0.9, 30)
    fit = fit_trend(x, inverse_transform(0.9 * transform(x) - 0.5), n_boot=100)  # exact line: zero-width band
    acc_id = 0.7
    above = float(special.expit(0.9 * special.logit(acc_id) - 0.5 + 1.0))
    er, lo, hi = effective_robustness(fit, acc_id, above)
    assert er == pytest.approx(above - float(special.expit(0.9 * special.logit(acc_id) - 0.5)), abs=1e-9)
    assert lo == pytest.approx(er, abs=1e-9) and hi == pytest.approx(er, abs=1e-9)


def test_too_small_or_degenerate_populations_are_usage_errors():
    with pytest.raises(UsageError, match="at least 3 models"):
        fit_trend(np.array([0.5, 0.6]), np.array([0.4, 0.5]))
    with pytest.raises(UsageError, match="same in-distribution accuracy"):
        fit_trend(np.full(5, 0.7), np.linspace(0.3, 0.5, 5))


def test_shipped_baseline_equals_the_published_tables():
    root = require_shared("reference-results")
    with open(root / "imagenet_testbed" / "robustness_top1s.csv", newline="") as f:
        testbed = {r["model"]: r for r in csv.DictReader(f)}
    with open(root / "imagenet_testbed" / "model_types.csv", newline="") as f:
        types = {r["model"]: r["model_type"] for r in csv.DictReader(f)}
    with open(root / "timm" / "results-imagenet-r-clean.csv", newline="") as f:
        r_clean = {f"{r['model']}@{r['img_size']}": float(r["top1"]) for r in csv.DictReader(f)}
    rows = info_csv("er_baseline.csv")
    shipped_testbed = [r for r in rows if r["source"] == "testbed"]
    assert len(shipped_testbed) == 85
    for row in shipped_testbed:
        assert types[row["model"]] == "STANDARD"
        src = testbed[row["model"]]
        for ours, theirs in (("val", "val"), ("imagenet_r", "imagenet-r"), ("objectnet", "objectnet-1.0-beta"),
                             ("val_on_imagenet_a_classes", "val-on-imagenet-a-classes")):  # fmt: skip
            if src[theirs]:
                assert float(row[ours]) == pytest.approx(float(src[theirs]) / 100, abs=5e-7)
    timm_rows = [r for r in rows if r["source"] == "timm"]
    assert len(timm_rows) > 300
    for row in timm_rows:
        assert "in21k" not in row["model"] and "ig1b" not in row["model"]
        assert float(row["val_on_imagenet_r_classes"]) == pytest.approx(r_clean[row["model"]] / 100, abs=5e-7)


def test_published_clip_point_sits_far_above_the_testbed_trend():
    """Taori et al.'s headline: zero-shot CLIP is effectively robust on ImageNet-R; standard ResNet-50 is not."""
    root = require_shared("reference-results")
    _, x, y = baseline_points("imagenet_r", "testbed")
    fit = fit_trend(x, y, n_boot=500)
    with open(root / "imagenet_testbed" / "robustness_top1s.csv", newline="") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}

    def er(name):
        r = rows[name]
        return effective_robustness(fit, float(r["val-on-imagenet-r-classes"]) / 100, float(r["imagenet-r"]) / 100)

    clip, lo, _ = er("vit_b_32_clip_zeroshot")
    resnet, *_ = er("resnet50")
    print(f"ImageNet-R effective robustness: CLIP ViT-B/32 zero-shot {clip:+.3f}, ResNet-50 {resnet:+.3f}")
    assert lo > 0.2
    assert abs(resnet) < 0.05


def _record(model, benchmark, top1, loss="supervised", prompts="n/a (fixed head)", label_space="full", extra=()):
    metrics = [MetricValue("top1", top1, True), *[MetricValue(n, v, True) for n, v in extra]]
    return RunRecord.new(
        model=model,
        benchmark=benchmark,
        shift=None,
        prompts=prompts,
        label_space=label_space,
        model_info={"loss": loss, "architecture": model},
        metrics=metrics,
    )


def synthetic_store(n=30, offset=1.0):
    """n supervised models on a known V2 and R trend, plus one contrastive model ``offset`` above it (logit)."""
    rng = np.random.default_rng(7)
    records = []
    ids = list(rng.uniform(0.6, 0.85, n)) + [0.7]
    for i, acc in enumerate(ids):
        clip = i == n
        name = "open_clip:clip" if clip else f"timm:m{i}"
        r_id = float(special.expit(special.logit(acc) + 1.5))
        bump = offset if clip else rng.normal(0, 0.05)
        v2 = float(special.expit(0.9 * special.logit(acc) - 0.4 + bump))
        r = float(special.expit(0.6 * special.logit(r_id) - 1.0 + bump))
        loss = "contrastive" if clip else "supervised"
        records.append(_record(name, "imagenet(split='val')", acc, loss, extra=[("top1_on_imagenet_r_classes", r_id)]))
        records.append(_record(name, "imagenet_v2(variant='matched-frequency')", v2, loss))
        records.append(_record(name, "imagenet_r", r, loss, label_space="subset"))
    return records, ids[-1]


def test_store_population_recovers_the_trend_and_places_an_outlier():
    records, acc_id = synthetic_store()
    report = analyze_effective_robustness(
        records, baseline="store", population_filter={"loss": "supervised"}, shifts=["imagenet_v2", "imagenet_r"]
    )
    fits = {f.shift: f.fit for f in report.fits}
    assert fits["imagenet_v2"].n == 30 and fits["imagenet_r"].n == 30
    assert fits["imagenet_v2"].slope == pytest.approx(0.9, abs=0.1)
    assert fits["imagenet_r"].slope == pytest.approx(0.6, abs=0.1)
    clip = {r.shift: r for r in report.rows if r.model == "open_clip:clip"}
    expected_v2 = float(special.expit(0.9 * special.logit(acc_id) - 0.4))
    assert clip["imagenet_v2"].effective_robustness == pytest.approx(
        clip["imagenet_v2"].acc_shift - expected_v2, abs=0.02
    )
    assert clip["imagenet_v2"].ci_low > 0.1
    assert not clip["imagenet_v2"].in_population
    # ImageNet-R is measured against the 200-class ID accuracy, not the 1000-class one
    assert clip["imagenet_r"].acc_id == pytest.approx(float(special.expit(special.logit(acc_id) + 1.5)))
    assert clip["imagenet_r"].relative_robustness == pytest.approx(
        clip["imagenet_r"].acc_shift / clip["imagenet_r"].acc_id
    )
    members = [r for r in report.rows if r.in_population and r.shift == "imagenet_v2"]
    assert len(members) == 30 and abs(np.mean([r.effective_robustness for r in members])) < 0.02
    assert report.notes == []  # every model has both runs and the 200-class ID metric


def test_store_analysis_explains_what_is_missing():
    records, _ = synthetic_store(n=5)
    # drop the class-subset metric of one model's imagenet run
    for r in records:
        if r.model == "timm:m0" and r.benchmark.startswith("imagenet("):
            r.metrics = [m for m in r.metrics if m.name == "top1"]
    report = analyze_effective_robustness(records, baseline="testbed", shifts=["imagenet_r"])
    assert any("timm:m0" in n and "top1_on_imagenet_r_classes" in n for n in report.notes)
    assert {r.model for r in report.rows} == {f"timm:m{i}" for i in range(1, 5)} | {"open_clip:clip"}
    assert report.protocol["sources"]["testbed"]["commit"].startswith("0170eec")


def test_population_choice_errors_are_one_line():
    records, _ = synthetic_store(n=5)
    with pytest.raises(UsageError, match="needs the population"):
        analyze_effective_robustness(records, baseline="store")
    with pytest.raises(UsageError, match="use --baseline store"):
        analyze_effective_robustness(records, baseline="testbed", population=["timm:m1"])
    with pytest.raises(UsageError, match="did you mean 'imagenet_r'"):
        analyze_effective_robustness(records, shifts=["imagenet_rr"])
    with pytest.raises(UsageError, match="unknown field 'los'"):
        analyze_effective_robustness(records, baseline="store", population_filter={"los": "supervised"})
