"""Retrieval recall and the modality gap against the six factors (issue 12, report item 7): the declared
measurements (``measurements.FACTOR_MEASUREMENTS``) reach the six-factor ranges, its table and the retrieval
section, with group means computed here by hand from the fixtures' round values."""

from __future__ import annotations

import pytest

from tests.report_fixtures import HOSTILE, RETRIEVAL_BENCH, retrieval_records, synthetic_records
from zeroshift.metrics.group import metric_label
from zeroshift.reports.html import findings as F
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.sections.retrieval import RetrievalSection
from zeroshift.reports.html.sections.six_factors import SixFactorSection

FOG = "corruption(name='fog', severity=3)"
# the fixtures' values (i2t R@1, RSUM/6, gap): laion ViT contrastive (0.5, 0.6, 0.8), openai ResNet contrastive
# (0.4, 0.5, 0.9), SigLIP ViT sigmoid (0.7, 0.8, 1.2); the three fixed-head models have no retrieval records


def store_data(*extra) -> ReportData:
    records = synthetic_records() + retrieval_records()
    # noise the breakdown must ignore: a shifted run (other values) and a second set only one model was run on
    records += retrieval_records({"synthetic:clip-rn50-openai": (0.0, 0.0, 1.9)}, shift=FOG)
    records += retrieval_records({"synthetic:siglip-vit-b16": (0.1, 0.1, 0.1)}, benchmark="mscoco_retrieval")
    return ReportData(records + list(extra))


def effect(data: ReportData, metric: str, factor: str) -> F.FactorEffect:
    return next(f for f in F.factor_effects(data) if f.metric == f"{metric}_{RETRIEVAL_BENCH}" and f.factor == factor)


def test_the_declared_names_are_metrics_the_groups_produce():
    assert [m.name for m in M.FACTOR_MEASUREMENTS] == ["i2t_r1", "mean_recall", "gap_distance"]
    assert all(m.prompt_free and m.kinds == ("retrieval",) for m in M.FACTOR_MEASUREMENTS)
    assert set(M.layout_names()) >= {"i2t_r1", "mean_recall", "gap_distance"}


def test_recall_and_gap_join_the_headline_metrics_on_the_clean_set_most_models_have():
    data = store_data()
    by_key = {h.key: h for h in F.headline_metrics(data)}
    for name in ("i2t_r1", "mean_recall", "gap_distance"):
        h = by_key[f"{name}_{RETRIEVAL_BENCH}"]
        assert h.metric == name and h.prompt_free and h.condition.shift is None
        assert h.condition.name == RETRIEVAL_BENCH and h.label == f"{metric_label(name)} on {h.condition.label}"
    assert not any(k.endswith("mscoco_retrieval") for k in by_key)  # one model there, three on Flickr30K


def test_group_means_ranges_and_p_values_by_hand():
    data = store_data()
    loss = effect(data, "i2t_r1", "loss")
    assert loss.means == pytest.approx({"contrastive": (0.5 + 0.4) / 2, "sigmoid": 0.7})
    assert loss.sizes == {"contrastive": 2, "sigmoid": 1} and loss.spread == pytest.approx(0.25)
    # exact permutation test by hand: the single sigmoid slot holds 0.7 (range 0.25), 0.5 (0.05) or 0.4 (0.2)
    assert loss.exact and loss.p == pytest.approx(1 / 3)
    family = effect(data, "gap_distance", "family")
    assert family.means == pytest.approx({"ResNet": 0.9, "ViT": (0.8 + 1.2) / 2}) and family.spread == pytest.approx(
        0.1
    )
    rsum = effect(data, "mean_recall", "training_data")
    assert rsum.means == pytest.approx({"LAION-2B": 0.6, "WIT-400M": 0.5, "WebLI": 0.8})
    assert rsum.spread == pytest.approx(0.3) and rsum.p == 1.0  # one model per group: every shuffle ties
    # the prompt set is not asked of a caption-scored measurement (the laion model has two prompt sets); fine-tuning
    # has a single value (every model False)
    asked = {f.factor for f in F.factor_effects(data) if f.metric.startswith(("i2t_r1_", "mean_recall_", "gap_"))}
    assert asked == {"family", "architecture", "training_data", "data_size", "loss"}
    assert any(f.factor == "prompts" for f in F.factor_effects(data))  # top-1 still is


def test_a_model_run_on_retrieval_under_another_prompt_set_still_counts():
    # the laion model's retrieval record under "simple" only: its chosen entry (openai, more measurements) has none
    retrieval = retrieval_records()
    moved = next(r for r in retrieval if r.model.endswith("laion"))
    moved.prompts = "simple"
    data = ReportData(synthetic_records() + retrieval)
    family = next(f for f in F.factor_effects(data) if f.metric.startswith("i2t_r1_") and f.factor == "family")
    assert family.means == pytest.approx({"ResNet": 0.4, "ViT": 0.6}) and family.sizes == {"ResNet": 1, "ViT": 2}


def test_six_factor_table_and_ranges_show_them():
    data = store_data()
    content = SixFactorSection().build(data)
    (table,) = content.tables
    assert table.columns == ["factor", "group", "metric", "condition", "models", "mean", "range"]
    rows = {(r[0].text, r[1].text, r[2].text): r for r in table.rows}
    sigmoid = rows[("loss", "sigmoid", "image→text R@1")]
    contrastive = rows[("loss", "contrastive", "image→text R@1")]
    assert sigmoid[4].text == "1" and sigmoid[5].sort == pytest.approx(0.7)
    assert contrastive[4].text == "2" and contrastive[5].sort == pytest.approx(0.45)
    assert contrastive[6].sort == pytest.approx(0.4)  # the range starts at the group's lowest model
    gap = rows[("architecture family", "ViT", "gap distance")]
    assert gap[5].sort == pytest.approx(1.0)
    assert not any(k[0] == "prompt set" and k[2] != "top-1" for k in rows)
    ranges = next(f for f in content.figures if f.id == "six-factors-ranges")
    r1 = [r for r in ranges.rows if r["metric"].startswith("image→text R@1") and r["factor"] == "loss"]
    assert len(r1) == 1 and r1[0]["range_of_group_means"] == pytest.approx(0.25)
    assert "image→text R@1 on" in ranges.svg and "gap distance on" in ranges.svg


def test_retrieval_section_draws_recall_and_gap_against_the_six_factors():
    data = store_data()
    figure = next(f for f in RetrievalSection().build(data).figures if f.id == "retrieval-six-factors")
    assert figure.title == "Recall and gap against the six factors"
    got = {(r["metric"], r["factor"], r["group"]): r for r in figure.rows}
    assert got[("i2t_r1", "loss", "contrastive")]["mean"] == pytest.approx(0.45)
    assert (got[("i2t_r1", "loss", "contrastive")]["min"], got[("i2t_r1", "loss", "contrastive")]["max"]) == (0.4, 0.5)
    assert got[("mean_recall", "family", "ViT")]["mean"] == pytest.approx(0.7)
    assert got[("gap_distance", "data_size", "10B")]["n_models"] == 1
    assert got[("gap_distance", "data_size", "10B")]["mean"] == pytest.approx(1.2)
    assert {r["factor"] for r in figure.rows} == {"family", "architecture", "training_data", "data_size", "loss"}
    assert "loss = sigmoid" in figure.svg and [label for label, _ in figure.legend] == [
        f"{metric_label(n)} on Flickr30K 1k retrieval" for n in ("i2t_r1", "mean_recall", "gap_distance")
    ]
    # three models: 5 factors, 2 + 3 + 3 + 3 + 2 groups, 3 measurements
    assert len(figure.rows) == 13 * 3


def test_no_figure_without_two_groups_and_hostile_names_are_escaped():
    one = ReportData(retrieval_records({"synthetic:clip-rn50-openai": (0.4, 0.5, 0.9)}))
    assert all(f.id != "retrieval-six-factors" for f in RetrievalSection().build(one).figures)
    hostile = [r for r in synthetic_records(hostile=True) if r.model == HOSTILE][0]
    extra = retrieval_records({"synthetic:clip-rn50-openai": (0.4, 0.5, 0.9)})[0]
    extra.model, extra.model_info = HOSTILE, hostile.model_info
    data = ReportData([*retrieval_records(), extra])
    figure = next(f for f in RetrievalSection().build(data).figures if f.id == "retrieval-six-factors")
    assert "<b>bold family</b>" not in figure.svg and "&lt;b&gt;bold family" in figure.svg
