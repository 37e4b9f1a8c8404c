"""The 3D-awareness sections put image-encoder families side by side (CNN vs ViT): top-1 drops under each 3D
corruption and its 2D counterpart, PCK per rotation bin, and a finding each; every expected number below is
computed by hand from the fixture's table (tests/report_fixtures.py, THREE_D)."""

from __future__ import annotations

import json

import pytest

from tests.report_fixtures import FW64, three_d_records
from zeroshift.reports.html import build_report
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.sections.correspondence import CorrespondenceSection
from zeroshift.reports.html.sections.corruptions3d import Corruption3DSection

#: 35 ways to put 7 models into groups of 4 and 3; in both findings only the observed split is as extreme
P_ONE_OF_35 = 1 / 35


@pytest.fixture(scope="module")
def data() -> ReportData:
    return ReportData(three_d_records())


def test_3d_drops_per_family_next_to_their_2d_counterparts(data):
    content = Corruption3DSection().build(data)
    (figure,) = [f for f in content.figures if f.title.startswith("Top-1 drop by image-encoder family")]
    assert figure.group == FW64 and [label for label, _ in figure.legend] == ["CNN encoders", "ViT encoders"]
    got = {(r["family"], r["category"]): r for r in figure.rows}
    # by hand: drop = clean - mean over severities, then the mean over the family's models (whiskers: min, max)
    expected = {
        ("CNN", "fog_3d (3D)"): (0.3125, 0.30, 0.35),  # (0.30 + 0.30 + 0.35 + 0.30) / 4
        ("ViT", "fog_3d (3D)"): (0.10, 0.10, 0.10),
        ("CNN", "near_focus (3D)"): (0.30, 0.20, 0.40),  # (0.30 + 0.40 + 0.30 + 0.20) / 4
        ("ViT", "near_focus (3D)"): (0.4 / 3, 0.10, 0.20),
        ("CNN", "fog (2D)"): (0.20, 0.20, 0.20),
        ("ViT", "fog (2D)"): (0.15, 0.15, 0.15),
        ("CNN", "defocus_blur (2D)"): (0.20, 0.20, 0.20),
        ("ViT", "defocus_blur (2D)"): (0.15, 0.15, 0.15),
    }
    assert set(got) == set(expected)
    for key, (mean, lo, hi) in expected.items():
        row = got[key]
        assert (row["mean_top1_drop"], row["min_top1_drop"], row["max_top1_drop"]) == pytest.approx((mean, lo, hi))
        assert row["n_models"] == (4 if key[0] == "CNN" else 3)
    # each 3D corruption is drawn next to the 2D one it resembles
    assert figure.svg.index("fog_3d (3D)") < figure.svg.index("fog (2D)") < figure.svg.index("near_focus (3D)")
    assert figure.svg.index("near_focus (3D)") < figure.svg.index("defocus_blur (2D)")
    assert "model_info.family" in figure.protocol["families"]


def test_the_3d_finding_compares_the_families_with_a_permutation_test(data):
    (finding,) = Corruption3DSection().findings(data)
    # per model, the mean drop over fog_3d and near_focus: CNN 0.30, 0.35, 0.325, 0.25; ViT 0.10, 0.10, 0.15
    cnn, vit = (0.30 + 0.35 + 0.325 + 0.25) / 4, (0.10 + 0.10 + 0.15) / 3
    assert finding.details["drop_3d"] == pytest.approx({"CNN": cnn, "ViT": vit})
    assert finding.details["drop_2d"] == pytest.approx({"CNN": 0.20, "ViT": 0.15})
    assert finding.value == pytest.approx(cnn - vit)
    assert finding.details["p"] == pytest.approx(P_ONE_OF_35) and finding.significant is True
    assert finding.figure in {f.id for f in Corruption3DSection().build(data).figures}
    assert "CNN 0.306 (4 models), ViT 0.117 (3 models)" in finding.text
    assert "2D corruptions they resemble: CNN 0.200 (4 models), ViT 0.150 (3 models)" in finding.text
    assert "permutation p = 0.029, exact" in finding.text


def test_pck_per_rotation_bin_per_family(data):
    content = CorrespondenceSection().build(data)
    (figure,) = [f for f in content.figures if f.id.endswith("families")]
    got = {(r["family"], r["metric"]): (r["mean"], r["min"], r["max"], r["n_models"]) for r in figure.rows}
    expected = {
        ("CNN", "pck@0.10"): ((0.40 + 0.30 + 0.45 + 0.20) / 4, 0.20, 0.45, 4),
        ("ViT", "pck@0.10"): (0.70, 0.60, 0.80, 3),
        ("CNN", "pck@0.10[rotation_bin=0-45]"): (0.55, 0.40, 0.70, 4),
        ("ViT", "pck@0.10[rotation_bin=0-45]"): (0.80, 0.70, 0.90, 3),
        ("CNN", "pck@0.10[rotation_bin=90-135]"): (0.15, 0.00, 0.30, 4),
        ("ViT", "pck@0.10[rotation_bin=90-135]"): (0.50, 0.40, 0.60, 3),
    }
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values), key
    assert [label for label, _ in figure.legend] == ["CNN encoders", "ViT encoders"]
    # the per-model figure keeps its id; the family figure follows it
    assert [f.id for f in content.figures] == ["correspondence-0", "correspondence-0-families"]


def test_the_correspondence_finding_names_the_bin_where_the_families_differ_most(data):
    (finding,) = CorrespondenceSection().findings(data)
    assert finding.details["pck"] == pytest.approx({"ViT": 0.70, "CNN": 0.3375})
    assert finding.value == pytest.approx(0.70 - 0.3375)
    # bins: 0-45 differs by 0.80 - 0.55 = 0.25, 90-135 by 0.50 - 0.15 = 0.35
    assert finding.details["widest_bin"] == "pck@0.10[rotation_bin=90-135]"
    assert "ViT 0.700 (3 models), CNN" in finding.text and "(rotation_bin 90-135): ViT 0.500" in finding.text
    assert finding.details["p"] == pytest.approx(P_ONE_OF_35) and finding.significant is True


def test_one_family_draws_no_comparison_and_states_no_finding():
    records = [r for r in three_d_records() if r.model_info["family"] == "CNN"]
    data = ReportData(records)
    assert not [f for f in Corruption3DSection().build(data).figures if "family" in f.title]
    assert not [f for f in CorrespondenceSection().build(data).figures if f.id.endswith("families")]
    assert Corruption3DSection().findings(data) == [] and CorrespondenceSection().findings(data) == []


def test_two_models_per_family_are_too_few_to_test(data):
    records = [r for r in three_d_records() if r.model not in ("synthetic:cnn-3", "synthetic:cnn-4", "synthetic:vit-3")]
    (finding,) = Corruption3DSection().findings(ReportData(records))
    # 6 ways to split 2 + 2 models, the observed split and its mirror: p >= 1/3 whatever the values
    assert finding.significant is None and finding.details["p"] is None
    assert "too few models for a permutation test to reach p < 0.05" in finding.text


def test_the_page_links_the_findings_to_the_family_figures_and_escapes_family_names(tmp_path):
    records = three_d_records()
    for r in records:
        if r.model_info["family"] == "ViT":
            r.model_info["family"] = "<script>ViT</script>"
    result = build_report(records, tmp_path / "report.html")
    rows = json.loads((result.data_dir / "findings.json").read_text())["rows"]
    ids = {f["id"] for f in json.loads((result.data_dir / "index.json").read_text())["figures"]}
    mine = [r for r in rows if r["question"] in ("corruptions3d", "correspondence")]
    assert [r["question"] for r in mine] == ["corruptions3d", "correspondence"]  # page order
    assert all(r["figure"] in ids for r in mine)
    html = (tmp_path / "report.html").read_text()
    assert "<script>ViT" not in html and "&lt;script&gt;ViT&lt;/script&gt; encoders" in html
