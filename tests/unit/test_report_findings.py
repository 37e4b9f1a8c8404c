"""The findings list: each question's numbers against hand-built stores, computed independently here
(scipy.stats, numpy fits, brute-force enumeration), and sentences that say when the evidence is not significant."""

import itertools
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html import findings as F
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.section import Figure, Requirement, Section, SectionContent
from zeroshift.reports.html.sections import ordered
from zeroshift.reports.html.sections.effective_robustness import EffectiveRobustnessSection, figure_id
from zeroshift.results.schema import RunRecord

FW = "factorworld(n=1000, seed=0)"
FW_SKETCH = "factorworld_sketch(n=1000, seed=0)"
FW_OOD = "factorworld_ood(id='factorworld', n=500, seed=0)"
FW_CUE = "factorworld_cue_conflict(n=480, seed=0)"
FW_FACTORS = "factorworld_factors(n=1800, seed=0)"


def rec(model, benchmark, metrics, kind="zero_shot", prompts="openai", **info):
    return RunRecord.new(
        model=model,
        benchmark=benchmark,
        shift=None,
        prompts=prompts if kind == "zero_shot" else "n/a (fixed head)",
        label_space="native",
        model_info={"kind": kind, **info},
        metrics=metrics,
    )


def mv(name, value, lo=None, hi=None, **details):
    return MetricValue(name, value, name not in ("ece", "ece_ts"), lo, hi, details)


def logit(p):
    return math.log(p / (1 - p))


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# --- OOD detection against accuracy: Spearman across models ---------------------------------------------------


def ood_store(acc, auroc):
    records = []
    for i, (a, u) in enumerate(zip(acc, auroc, strict=True)):
        records.append(rec(f"zoo:m{i}", FW, [mv("top1", a)]))
        records.append(rec(f"zoo:m{i}", FW_OOD, [mv("msp_auroc", u), mv("mcm_auroc", 1 - u)]))
    return ReportData(records)


def test_ood_correlation_is_spearman_with_a_bootstrap_over_models():
    rng = np.random.default_rng(3)
    acc = rng.uniform(0.4, 0.95, 12)
    auroc = 0.5 + 0.4 * acc + rng.normal(0, 0.03, 12)
    (finding,) = F.ood(ood_store(acc, auroc))
    expected = stats.spearmanr(acc, auroc).statistic
    assert finding.value == pytest.approx(expected)
    # the interval: a percentile bootstrap over models, pairs resampled together (scipy's, another random stream)
    ref = stats.bootstrap(
        (acc, auroc),
        lambda x, y: stats.spearmanr(x, y).statistic,
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=2000,
        random_state=1,
    ).confidence_interval
    assert finding.interval[0] == pytest.approx(ref.low, abs=0.08)
    assert finding.interval[1] == pytest.approx(ref.high, abs=0.08)
    assert finding.significant and "Spearman" in finding.text and f"{expected:.2f}" in finding.text
    assert "MSP AUROC" in finding.text  # the score every model has, MSP first among equals
    assert finding.figure == "ood-vs-accuracy-factorworld-ood-shapes"


def test_ood_correlation_that_is_not_significant_says_so():
    acc = [0.5, 0.6, 0.7, 0.8, 0.9]
    auroc = [0.7, 0.6, 0.8, 0.65, 0.75]
    (finding,) = F.ood(ood_store(acc, auroc))
    assert finding.value == pytest.approx(stats.spearmanr(acc, auroc).statistic)
    assert finding.interval[0] < 0 < finding.interval[1]
    assert finding.significant is False and "not significant" in finding.text


def test_ood_with_too_few_models_gives_no_correlation():
    (finding,) = F.ood(ood_store([0.5, 0.6, 0.7], [0.6, 0.7, 0.8]))
    assert finding.value is None and "too few for a correlation" in finding.text


# --- effective robustness: above, below and on the trend ---------------------------------------------------------


def test_effective_robustness_sentences_name_the_models_off_the_trend():
    slope, intercept = 0.9, -0.8
    records = []
    for i, acc in enumerate((0.5, 0.6, 0.7, 0.8, 0.9)):
        info = {"training_data": "FactorWorld-narrow"}
        shifted = sigmoid(slope * logit(acc) + intercept) + (0.01 if i % 2 else -0.01)
        records.append(rec(f"zoo:sup{i}", FW, [mv("top1", acc)], kind="fixed_head", **info))
        records.append(rec(f"zoo:sup{i}", FW_SKETCH, [mv("top1", shifted)], kind="fixed_head", **info))
    for model, acc, shifted in (("zoo:robust", 0.75, 0.85), ("zoo:plain", 0.75, None), ("zoo:weak", 0.75, 0.3)):
        shifted = sigmoid(slope * logit(acc) + intercept) if shifted is None else shifted
        records += [rec(model, FW, [mv("top1", acc)]), rec(model, FW_SKETCH, [mv("top1", shifted)])]
    data = ReportData(records)
    (finding,) = F.effective_robustness(data)
    # independent fit: numpy's least squares on the logits of the supervised population
    xs = [logit(r.metrics[0].value) for r in records[:10:2]]
    ys = [logit(r.metrics[0].value) for r in records[1:10:2]]
    a, b = np.polyfit(xs, ys, 1)
    expected = 0.85 - sigmoid(a * logit(0.75) + b)
    assert finding.value == pytest.approx(expected, abs=1e-9)  # the best model's effective robustness
    assert finding.details["above"] == ["zoo:robust"]
    assert finding.details["below"] == ["zoo:weak"]
    assert finding.details["not_significant"] == ["zoo:plain"]
    assert "zoo:plain" in finding.text and "is not significantly off it" in finding.text
    assert f"{expected:+.3f}" in finding.text
    plot = EffectiveRobustnessSection().analyse(data)[0][0]
    assert finding.figure == figure_id(plot) and "FactorWorld sketch" in finding.text


def test_effective_robustness_without_a_trend_says_why():
    records = [rec("zoo:a", FW, [mv("top1", 0.8)]), rec("zoo:a", FW_SKETCH, [mv("top1", 0.5)])]
    (finding,) = F.effective_robustness(ReportData(records))
    assert "no baseline trend" in finding.text and finding.value is None


# --- calibration: zero-shot against supervised, before and after temperature scaling -------------------------


def test_calibration_group_means_and_their_difference():
    ece = {"zero_shot": [0.10, 0.14, 0.12, 0.20], "fixed_head": [0.04, 0.05, 0.03]}
    records = []
    for kind, values in ece.items():
        for i, v in enumerate(values):
            m = f"zoo:{kind}{i}"
            records.append(rec(m, FW, [mv("ece", v), mv("ece_ts", v / 2)], kind=kind))
            records.append(rec(m, FW_SKETCH, [mv("ece", 2 * v), mv("ece_ts", v)], kind=kind))
    out = F.calibration(ReportData(records))
    zero, sup, diff = out
    assert zero.value == pytest.approx(np.mean(ece["zero_shot"]))
    assert zero.details["ece_ts_in_distribution"] == pytest.approx(np.mean(ece["zero_shot"]) / 2)
    assert zero.details["ece_under_shift"] == pytest.approx(2 * np.mean(ece["zero_shot"]))
    assert sup.value == pytest.approx(np.mean(ece["fixed_head"]))
    expected = np.mean(ece["zero_shot"]) - np.mean(ece["fixed_head"])
    assert diff.value == pytest.approx(expected)
    # an independent bootstrap of the same design (each group's models resampled on their own)
    rng = np.random.default_rng(11)
    a, b = np.asarray(ece["zero_shot"]), np.asarray(ece["fixed_head"])
    reps = [rng.choice(a, a.size).mean() - rng.choice(b, b.size).mean() for _ in range(4000)]
    assert diff.interval[0] == pytest.approx(np.quantile(reps, 0.025), abs=0.01)
    assert diff.interval[1] == pytest.approx(np.quantile(reps, 0.975), abs=0.01)
    assert diff.significant and "worse calibrated" in diff.text
    assert all(f.figure == "calibration-ece" for f in out)


def test_calibration_with_one_model_per_group_is_not_tested():
    records = [
        rec("zoo:clip", FW, [mv("ece", 0.1)]),
        rec("zoo:sup", FW, [mv("ece", 0.05)], kind="fixed_head"),
    ]
    *_, diff = F.calibration(ReportData(records))
    assert diff.significant is None and "not tested" in diff.text and diff.value == pytest.approx(0.05)


# --- shape bias against humans ---------------------------------------------------------------------------------


def test_shape_bias_against_the_human_reference():
    records = [
        rec("zoo:a", FW_CUE, [mv("shape_bias", 0.3, 0.25, 0.35)]),
        rec("zoo:b", FW_CUE, [mv("shape_bias", 0.9, 0.8, 0.99)]),
    ]
    data = ReportData(records, references={"humans": "somewhere"})
    data.memo["humans"] = SimpleNamespace(shape_bias=0.96, n_subjects=10, source="somewhere")
    (finding,) = F.shape_bias(data)
    assert finding.details["below_humans"] == ["zoo:a"]  # b's interval reaches the human value
    assert "1 of 2 models are significantly less shape-biased" in finding.text
    assert "1 not significantly different" in finding.text and "humans 0.960" in finding.text
    no_humans = F.shape_bias(ReportData(records))[0]
    assert "no human reference" in no_humans.text and no_humans.significant is None


# --- visual factors -------------------------------------------------------------------------------------------


def test_the_factor_levels_that_hurt_most():
    records = []
    for i, (ratio_a, ratio_b) in enumerate(((3.0, 1.2), (2.0, 0.8))):
        records.append(
            rec(
                f"zoo:m{i}",
                FW_FACTORS,
                [
                    mv("top1", 0.8),
                    mv("top1[style=sketch]", 1 - 0.2 * ratio_a, 0.2, 0.5, error_ratio=ratio_a, overall_top1=0.8),
                    mv("top1[size=small]", 1 - 0.2 * ratio_b, 0.7, 0.9, error_ratio=ratio_b, overall_top1=0.8),
                ],
            )
        )
    (finding,) = F.visual_factors(ReportData(records), top=1)
    assert finding.details["levels"] == ["style = sketch"]
    assert finding.value == pytest.approx(2.5) and "significant for all" in finding.text
    assert finding.figure == "factors-factorworld-factors"


# --- the six factors: range of group means and its permutation test ------------------------------------------------


def brute_force_p(values, labels):
    """Every ordering of the models over the group slots (n! of them): the share at least as extreme."""
    observed = F.group_range(values, labels)
    hits = total = 0
    for perm in itertools.permutations(range(len(values))):
        total += 1
        hits += F.group_range([values[i] for i in perm], labels) >= observed - 1e-12
    return hits / total


@pytest.mark.parametrize(
    "values,labels",
    [
        ([0.9, 0.85, 0.8, 0.3, 0.35, 0.4], ["a", "a", "a", "b", "b", "b"]),
        ([0.1, 0.5, 0.3, 0.2, 0.6, 0.4, 0.45], ["x", "y", "x", "z", "y", "z", "z"]),
    ],
)
def test_range_permutation_p_is_exact(values, labels):
    p, exact = F.range_permutation_p(values, labels)
    assert exact and p == pytest.approx(brute_force_p(values, labels))


def test_monte_carlo_p_is_close_to_the_exact_one():
    values = [0.1, 0.5, 0.3, 0.2, 0.6, 0.4, 0.45]
    labels = ["x", "y", "x", "z", "y", "z", "z"]
    exact, _ = F.range_permutation_p(values, labels)
    mc, is_exact = F.range_permutation_p(values, labels, n_permutations=200)
    assert not is_exact and mc == pytest.approx(exact, abs=0.08)


def test_six_factor_sentences_name_the_factor_with_the_widest_range():
    records = []
    for i in range(8):
        data_ = "diverse" if i < 4 else "narrow"
        loss = "contrastive" if i % 2 else "sigmoid"
        acc = (0.9 if data_ == "diverse" else 0.5) + 0.01 * i
        records.append(rec(f"zoo:m{i}", FW, [mv("top1", acc)], training_data=data_, loss=loss, family="CNN"))
    data = ReportData(records)
    (finding,) = F.six_factors(data)
    assert finding.details["factor"] == "training_data"
    diverse, narrow = np.mean([0.9 + 0.01 * i for i in range(4)]), np.mean([0.5 + 0.01 * i for i in range(4, 8)])
    assert finding.value == pytest.approx(diverse - narrow)
    assert finding.details["p"] == pytest.approx(
        brute_force_p([r.metrics[0].value for r in records], [0] * 4 + [1] * 4)
    )
    assert finding.significant and "not significant" not in finding.text
    assert finding.figure == "six-factors-ranges"


def test_six_factors_with_too_few_models_say_they_cannot_tell():
    records = [
        rec("zoo:a", FW, [mv("top1", 0.9)], training_data="diverse"),
        rec("zoo:b", FW, [mv("top1", 0.5)], training_data="narrow"),
    ]
    (finding,) = F.six_factors(ReportData(records))
    assert "cannot be told from 2 models" in finding.text and finding.significant is False


@pytest.mark.parametrize("sizes", [[1, 1], [2, 2], [3, 1], [2, 2, 1], [3, 3], [2, 1, 1]])
def test_min_p_is_the_p_of_perfectly_separated_groups(sizes):
    # each group's models share one value, far from the others': the most extreme assignment there is
    labels = [k for k, s in enumerate(sizes) for _ in range(s)]
    values = [10.0 ** (2 * k) for k in labels]
    p = brute_force_p(values, labels)
    # a lower bound of every p-value the test can give (the gate for "cannot be told"), reached with two groups
    assert F.min_p(sizes) <= p + 1e-12
    if len(sizes) == 2:
        assert F.min_p(sizes) == pytest.approx(p)


# --- the findings list is open: sections contribute sentences by declaration -------------------------------------


class _Brightness(Section):
    name = "brightness_test"
    title = "Brightness"
    order = 45  # between calibration (40) and OOD (50)
    requires = (Requirement("mean_brightness"),)

    def build(self, data):
        return SectionContent()

    def findings(self, data):
        (cell,) = [cell for *_, cell in data.cells("mean_brightness")]
        return [F.Finding("brightness_test", f"Brightness {cell.value.value:.2f}.", "brightness", cell.value.value)]


class _Unavailable(_Brightness):
    name = "never_asked"
    requires = (Requirement("not_in_the_store"),)

    def findings(self, data):
        raise AssertionError("a section the store cannot build is never asked for findings")


def test_sections_contribute_findings_in_page_order_and_only_when_available():
    records = [rec(f"zoo:m{i}", FW, [mv("top1", 0.5 + 0.1 * i)]) for i in range(4)]
    records += [rec(f"zoo:m{i}", FW_OOD, [mv("msp_auroc", 0.6 + 0.05 * i)]) for i in range(4)]
    records.append(rec("zoo:m0", FW, [mv("mean_brightness", 0.25)]))
    data = ReportData(records)
    shipped = ordered()
    found = F.findings(data, sorted([*shipped, _Brightness(), _Unavailable()], key=lambda s: (s.order, s.name)))
    questions = [f.question for f in found]
    assert "brightness_test" in questions and "never_asked" not in questions
    assert questions.index("brightness_test") < questions.index("ood")  # page order: 45 before 50
    assert found[questions.index("brightness_test")].text == "Brightness 0.25."
    # the shipped sections give exactly the sentences of the module's questions, in page order
    assert [f.text for f in F.findings(data)] == [f.text for f in F.ood(data)]


def test_the_page_links_a_registered_sections_findings(monkeypatch, tmp_path):
    from zeroshift.reports.html import render
    from zeroshift.reports.html.sections import sections

    class Drawn(_Brightness):
        def build(self, data):
            return SectionContent(figures=[Figure(id="brightness", title="Brightness", svg="<svg></svg>")])

    monkeypatch.setitem(sections._entries, "brightness_test", Drawn)
    monkeypatch.setitem(sections._entries, "never_asked", _Unavailable)
    result = render([rec("zoo:m0", FW, [mv("top1", 0.5), mv("mean_brightness", 0.25)])], tmp_path / "r.html")
    rows = json.loads((result.data_dir / "findings.json").read_text())["rows"]
    assert [(r["question"], r["figure"], r["value"]) for r in rows] == [("brightness_test", "brightness", 0.25)]
    page = (tmp_path / "r.html").read_text()
    assert 'href="#fig-brightness"' in page and "Brightness 0.25." in page


# --- attacks: paired drops -----------------------------------------------------------------------------------------


def attacked(model, shift, clean, after, drop_ci, asr=None):
    metrics = [
        mv("top1", after),
        mv("clean_top1", clean),
        MetricValue("accuracy_drop", clean - after, False, *drop_ci),
    ]
    if asr is not None:
        metrics.append(MetricValue("attack_success_rate", asr, False))
    return RunRecord.new(
        model=model,
        benchmark=FW,
        shift=shift,
        prompts="openai",
        label_space="native",
        model_info={"kind": "zero_shot"},
        metrics=metrics,
    )


def test_typographic_finding_counts_significant_drops_and_rises():
    from zeroshift.reports.html.sections.typographic import TypographicSection

    shift = "typographic(text='random')"
    records = [
        attacked("zoo:a", shift, 0.8, 0.5, (0.25, 0.35), 0.4),  # a significant drop
        attacked("zoo:b", shift, 0.6, 0.55, (-0.01, 0.11), 0.2),  # not significant
        attacked("zoo:c", shift, 0.7, 0.75, (-0.09, -0.01), 0.3),  # a significant rise
    ]
    (finding,) = TypographicSection().findings(ReportData(records))
    # the oracle, by hand: mean clean (0.8 + 0.6 + 0.7) / 3, mean attacked (0.5 + 0.55 + 0.75) / 3, mean ASR 0.3
    assert finding.question == "typographic" and finding.figure == "typographic-top1"
    assert "mean top-1 over 3 models" in finding.text
    assert "0.700 → 0.600 (attack success 0.300; significant drop for 1 of 3, significant rise for 1)" in finding.text
    assert "typographic:" not in finding.text.split(":", 1)[1]  # the word, not the condition's kind again
    assert finding.value == pytest.approx(0.1) and finding.significant is True
    (detail,) = finding.details["conditions"]
    assert detail["drop_significant"] == ["zoo:a"] and detail["rise"] == ["zoo:c"]


def test_adversarial_finding_lists_the_radii_in_order_and_says_when_nothing_is_significant():
    from zeroshift.reports.html.sections.adversarial import AdversarialSection

    records = [
        attacked(m, f"pgd(eps='{k}/255')", 0.9, after, (-0.02, 0.5))
        for m in ("zoo:a", "zoo:b")
        for k, after in ((4, 0.1), (1, 0.7))
    ]
    (finding,) = AdversarialSection().findings(ReportData(records))
    assert finding.figure == "adversarial-pgd-l-inf" and finding.significant is False
    one, four = finding.text.index("ε = 1/255 0.900 → 0.700"), finding.text.index("ε = 4/255 0.900 → 0.100")
    assert one < four and finding.text.count("significant drop for 0 of 2") == 2
    assert finding.value == pytest.approx(0.8)
