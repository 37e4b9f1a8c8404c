"""The Data overlap section: effective robustness on all vs clean samples, and the flagged pairs as thumbnails.

Records are built by hand with the real benchmarks' conditions (``factorworld_leaked`` names ``factorworld`` as its
in-distribution set); the expected numbers are computed here from the definitions (a logit-linear trend through the
supervised models, ER = shifted top-1 minus the trend's expectation), never by the code under test.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from PIL import Image

from zeroshift.conditions import describe
from zeroshift.data import make_benchmark
from zeroshift.metrics.base import MetricValue
from zeroshift.overlap.zoo_corpus import zoo_training_corpus
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.sections.overlap import OverlapSection, clean_effective_robustness
from zeroshift.results.schema import RunRecord

ID = "factorworld"
LEAKED = "factorworld_leaked(n=16, pool=40)"
POOL = 40
#: the supervised population: in-distribution top-1 and, exactly on logit(y) = logit(x) - 0.5, top-1 on LEAKED
SUPERVISED = {"zoo:sup-a": 0.60, "zoo:sup-b": 0.70, "zoo:sup-c": 0.85}
OFFSET = -0.5


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def info(kind: str) -> dict:
    return {"kind": kind, "training_data": "FactorWorld-narrow" if kind == "fixed_head" else "FactorWorld-diverse",
            "family": "CNN", "loss": "supervised" if kind == "fixed_head" else "contrastive"}  # fmt: skip


def record(model: str, kind: str, benchmark: str, metrics: list[MetricValue], protocol: dict | None = None):
    bench = make_benchmark(benchmark, None)
    return RunRecord.new(model=model, benchmark=bench.canonical, shift=None,
                         prompts="openai" if kind == "zero_shot" else "n/a (fixed head)", label_space="native",
                         condition=describe(bench, None, "native", 0, None), model_info=info(kind),
                         protocol={"bootstrap": {"n_boot": 100, "alpha": 0.05, "seed": 0}, **(protocol or {})},
                         metrics=metrics)  # fmt: skip


def top1(v: float) -> MetricValue:
    return MetricValue("top1", v, True, None, None, {"n": 1000})


def overlap_metrics(all_: float, clean: float, ci: tuple[float, float], n_overlap: int) -> list[MetricValue]:
    return [
        top1(all_),
        MetricValue("overlap_rate", 0.25, False, 0.1, 0.4, {"n": 16, "n_overlap": n_overlap}),
        MetricValue("overlap_top1_all", all_, True, None, None, {}),
        MetricValue("overlap_top1_clean", clean, True, None, None, {}),
        MetricValue("overlap_top1_clean_minus_all", clean - all_, None, *ci, {"paired": True}),
    ]


def population() -> list[RunRecord]:
    out = []
    for model, acc in SUPERVISED.items():
        out.append(record(model, "fixed_head", ID, [top1(acc)]))
        out.append(record(model, "fixed_head", LEAKED, [top1(sigmoid(logit(acc) + OFFSET))]))
    return out


def test_effective_robustness_on_all_and_clean_samples_matches_the_hand_computation():
    zero_shot = [
        record("zoo:clip-x", "zero_shot", ID, [top1(0.75)]),
        record("zoo:clip-x", "zero_shot", LEAKED, overlap_metrics(0.70, 0.62, (-0.12, -0.03), 4)),
    ]
    data = ReportData(population() + zero_shot)
    rows, notes = clean_effective_robustness(data)
    assert notes == [] and len(rows) == 1
    row = rows[0]
    expected = sigmoid(logit(0.75) + OFFSET)  # the trend through the three supervised models, at acc_id 0.75
    assert row.er_all[0] == pytest.approx(0.70 - expected, abs=1e-9)
    assert row.er_clean[0] == pytest.approx(0.62 - expected, abs=1e-9)
    # the same trend point for both: the difference is top-1 clean - all, with its paired interval
    assert row.difference == pytest.approx(-0.08) and row.difference_ci == (-0.12, -0.03)

    section = OverlapSection()
    content = section.build(data)
    figure = next(f for f in content.figures if f.id == "overlap-effective-robustness")
    (out,) = figure.rows
    assert out["er_all"] == pytest.approx(0.70 - expected) and out["er_clean"] == pytest.approx(0.62 - expected)
    assert "supervised FactorWorld-narrow" in figure.protocol["trend"]
    (finding,) = section.findings(data)
    assert finding.figure == "overlap-effective-robustness" and finding.significant is True
    assert f"{0.70 - expected:+.3f} to {0.62 - expected:+.3f}" in finding.text and "4 flagged" in finding.text
    assert finding.interval == (-0.12, -0.03)


def test_in_distribution_set_checked_too_moves_the_clean_trend_point():
    zero_shot = [
        record("zoo:clip-x", "zero_shot", ID, overlap_metrics(0.75, 0.72, (-0.05, -0.01), 2)),
        record("zoo:clip-x", "zero_shot", LEAKED, overlap_metrics(0.70, 0.62, (-0.12, -0.03), 4)),
    ]
    (row,) = clean_effective_robustness(ReportData(population() + zero_shot))[0]
    assert row.er_all[0] == pytest.approx(0.70 - sigmoid(logit(0.75) + OFFSET))
    assert row.er_clean[0] == pytest.approx(0.62 - sigmoid(logit(0.72) + OFFSET))
    assert row.difference_ci is None  # two trend points: the paired top-1 interval no longer applies


def test_without_a_population_the_section_says_so_and_falls_back_to_top1():
    zero_shot = [
        record("zoo:clip-x", "zero_shot", ID, [top1(0.75)]),
        record("zoo:clip-x", "zero_shot", LEAKED, overlap_metrics(0.70, 0.66, (-0.09, 0.01), 4)),
    ]
    data = ReportData(zero_shot)
    rows, notes = clean_effective_robustness(data)
    assert rows == [] and len(notes) == 1 and "fewer than 3 supervised" in notes[0]
    (finding,) = OverlapSection().findings(data)
    assert finding.figure == "overlap-top1" and finding.significant is False and "-0.040" in finding.text
    assert OverlapSection.title == "Data overlap"


def decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def test_flagged_pairs_are_embedded_as_thumbnails_and_a_lost_corpus_shows_ids_only(tmp_path):
    import re

    bench = make_benchmark(LEAKED, None)
    data = bench.dataset()
    corpus = zoo_training_corpus("clip-cnn-narrow", POOL, 0)
    leaked = [i for i, t in enumerate(data.meta["train_index"]) if t >= 0][:2]
    key_of = {i: f"train:narrow/seed0/{data.meta['train_index'][i]:06d}" for i in leaked}
    listed = set(corpus.keys())
    assert all(k in listed for k in key_of.values())  # the training images' keys, from the benchmark's column
    examples = [{"sample": data.sample_ids[i], "neighbour": key_of[i], "cosine": 1.0, "hamming": 0} for i in leaked]
    flags = {"index": {"corpus": corpus.describe()}}
    found = record("zoo:clip-x", "zero_shot", LEAKED, overlap_metrics(0.7, 0.6, (-0.2, 0.0), 4),
                   {"overlap": {"flags": flags, "examples": examples}})  # fmt: skip
    moved = {"kind": "folder", "root": str(tmp_path / "gone"), "n": 3}
    lost = record("zoo:clip-y", "zero_shot", "factorworld(n=4)", overlap_metrics(0.7, 0.6, (-0.2, 0.0), 1),
                  {"overlap": {"flags": {"index": {"corpus": moved}},
                               "examples": [{"sample": "<script>x</script>", "neighbour": "a&b.jpg",
                                             "cosine": 0.97, "hamming": None}]}})  # fmt: skip
    figure = next(f for f in OverlapSection().build(ReportData([found, lost])).figures if f.id == "overlap-pairs")
    uris = re.findall(r'href="(data:image/jpeg;base64,[^"]+)"', figure.svg)
    assert len(uris) == 4  # two pairs found, the lost one drawn as grey squares
    for n, i in enumerate(leaked):
        left, right = decode(uris[2 * n]), decode(uris[2 * n + 1])
        assert left.size == right.size == (48, 48)
        # the evaluation image is an exact training image: both thumbnails show it, as PIL's own downscale does
        reference = np.asarray(data.load(i)[0].convert("RGB").resize((48, 48), Image.LANCZOS), dtype=float)
        assert np.abs(np.asarray(left, dtype=float) - reference).mean() < 12
        assert np.abs(np.asarray(left, dtype=float) - np.asarray(right, dtype=float)).mean() < 1
    assert "<script>" not in figure.svg and "&lt;script&gt;" in figure.svg and "a&amp;b.jpg" in figure.svg
    assert figure.svg.count('fill="#ddd"') == 2
    (lost_row,) = [r for r in figure.rows if r["sample"] == "<script>x</script>"]
    assert lost_row["found"] is False and lost_row["neighbour"] == "a&b.jpg" and lost_row["cosine"] == 0.97
    assert [r["found"] for r in figure.rows].count(True) == 2
    assert any(n.startswith("training image a&b.jpg") for n in figure.notes), figure.notes
    assert any(n.startswith("evaluation image <script>x</script>: not in") for n in figure.notes), figure.notes
    assert len(figure.svg.encode()) < 4 * 2500 + 6000  # a few kilobytes per thumbnail
