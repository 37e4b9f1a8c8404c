"""Retrieval through the command line (issue 12): `zeroshift run` on factorworld_retrieval, clean, under an image
shift and under a text shift, checked against CLIP_benchmark's own `zeroshot_retrieval.evaluate` run on the same
zoo model, with every caption encoded once and a cached rerun encoding nothing."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from zeroshift.cli.main import app
from zeroshift.data import make_benchmark
from zeroshift.errors import UsageError
from zeroshift.models import resolve_model
from zeroshift.models.zoo import ZooModel
from zeroshift.results.store import Store
from zeroshift.shifts import make_shift

zeroshot_retrieval = pytest.importorskip("clip_benchmark.metrics.zeroshot_retrieval")

MODEL = "zoo:clip-cnn-diverse-small"
BENCH = "factorworld_retrieval(n=24, captions=4)"
FOG = "corruption(name='fog', severity=3)"
TYPOS = "typos(rate=0.1)"


class Encodes:
    """Counts what the zoo model encodes (the CLI runs in this process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.images = self.texts = 0
        image, text = ZooModel.encode_image, ZooModel.encode_text

        def encode_image(model, pixels):
            self.images += len(pixels)
            return image(model, pixels)

        def encode_text(model, texts):
            self.texts += len(texts)
            return text(model, texts)

        monkeypatch.setattr(ZooModel, "encode_image", encode_image)
        monkeypatch.setattr(ZooModel, "encode_text", encode_text)


def run(store, *args: str) -> None:
    common = ["run", "-m", MODEL, "-b", BENCH, "--store", str(store), "--no-progress", "--workers", "0"]
    result = CliRunner().invoke(app, [*common, *args])
    assert result.exit_code == 0, result.output[-2000:]


def clip_benchmark_recalls(captions: list[list[str]]) -> dict[str, float]:
    """CLIP_benchmark's evaluate() on the zoo model: its dataloader of (pixels, captions), its tokenizer a
    pass-through (the zoo model tokenizes itself), fp32."""
    model = resolve_model(MODEL).load()
    dataset = make_benchmark(BENCH, None).dataset()
    geometry = torch.stack([model.preprocess.geometry(dataset.load(i)[0]) for i in range(len(dataset))])
    pixels = model.preprocess.normalize(geometry)
    batches = [(pixels[s : s + 8], captions[s : s + 8]) for s in range(0, len(dataset), 8)]

    class Texts(list):
        def to(self, device):
            return list(self)

    class Peer(torch.nn.Module):
        def encode_image(self, x):
            return model.encode_image(x)

        def encode_text(self, texts):
            return model.encode_text(texts)

    return zeroshot_retrieval.evaluate(Peer(), batches, Texts, "cpu", amp=False, recall_k_list=[1, 5, 10])


def test_retrieval_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    store_path = tmp_path / "results.db"
    encodes = Encodes(monkeypatch)
    run(store_path, "--save-samples")
    n_captions = 24 * 4
    probe = 1  # the model's facts are read once: its embedding width from one text
    assert (encodes.images, encodes.texts) == (24, n_captions + probe)
    run(store_path, "--shift", FOG)  # an image shift: new pixels, the same captions (cached)
    assert (encodes.images, encodes.texts) == (48, n_captions + probe)
    run(store_path, "--shift", TYPOS)  # a text shift: clean images from the cache, new (perturbed) caption rows
    assert encodes.images == 48 and n_captions + probe < encodes.texts <= 2 * n_captions + probe
    before = encodes.texts
    run(store_path, "--metrics", "modality_gap", "--bootstrap", "50")  # a second metric on a cached run
    assert (encodes.images, encodes.texts) == (48, before)

    store = Store(str(store_path))
    records = store.records()  # by content, not position: records made within one second tie on created_at
    clean = next(r for r in records if r.shift is None and r.metric("i2t_r1") is not None)
    gap = next(r for r in records if r.shift is None and r.metric("i2t_r1") is None)
    fog = next(r for r in records if r.shift is not None and r.shift.startswith("corruption"))
    typos = next(r for r in records if r.shift is not None and r.shift.startswith("typos"))
    captions = make_benchmark(BENCH, None).dataset().meta["captions"]
    for record, texts in ((clean, captions), (typos, None)):
        if texts is None:  # the text shift's captions, as zeroshift perturbed them (seeded per caption id)
            ids = [f"{sid}#{j}" for sid, caps in zip(record_ids(), captions, strict=True) for j in range(len(caps))]
            flat = make_shift(TYPOS).apply_captions([t for caps in captions for t in caps], ids, 0)
            texts = [flat[i * 4 : i * 4 + 4] for i in range(24)]
        peer = clip_benchmark_recalls(texts)
        tied = record.protocol["retrieval"]["tied_queries"]
        for k in (1, 5, 10):
            # equal wherever no query has a positive tied with a negative (torch.topk breaks ties its own way)
            assert record.metric(f"i2t_r{k}").value == pytest.approx(peer[f"text_retrieval_recall@{k}"],
                                                                     abs=tied["image_to_text"] / 24 + 1e-6)  # fmt: skip
            assert record.metric(f"t2i_r{k}").value == pytest.approx(peer[f"image_retrieval_recall@{k}"],
                                                                     abs=tied["text_to_image"] / 96 + 1e-6)  # fmt: skip
        assert record.metric("mean_recall").value == pytest.approx(
            np.mean([v.value for v in record.metrics if v.name[:4] in ("i2t_", "t2i_")]), abs=1e-9
        )
    # every protocol choice is in the records
    assert clean.protocol["retrieval"]["ks"] == [1, 5, 10] and clean.protocol["retrieval"]["n_captions"] == 96
    assert clean.protocol["retrieval"]["captions"]["text_shift"] is None
    shifted = typos.protocol["retrieval"]["captions"]["text_shift"]
    assert shifted["captions"] == 96 and 0 < shifted["captions_changed"] <= 96
    assert typos.condition["kind"] == "text" and typos.counts["encoded_total"] == 0
    assert typos.fingerprints["features"] == clean.fingerprints["features"] != fog.fingerprints["features"]
    assert fog.metric("i2t_r1").value != clean.metric("i2t_r1").value or fog.metric("t2i_r1") != clean.metric("t2i_r1")
    assert gap.counts["encoded_total"] == 0 and gap.metric("gap_distance").value > 0
    assert clean.protocol["modality_gap"]["random_seed"] == 0
    # per-sample ranks: an image's best caption; each caption's image
    samples = store.samples(clean.run_id)
    ranks = np.asarray(samples.extra["i2t_rank"])
    assert len(ranks) == 24 and ranks.min() >= 1
    assert np.mean(ranks <= 1) == pytest.approx(clean.metric("i2t_r1").value)
    t2i = [r for per_image in samples.extra["t2i_ranks"] for r in per_image]
    assert len(t2i) == 96 and np.mean(np.asarray(t2i) <= 5) == pytest.approx(clean.metric("t2i_r5").value)
    # the report's section: recall@1 both ways clean and under each shift, the drop, the gap
    from zeroshift.reports.html import build_report

    build_report(str(store_path), tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "Modality bridging: image-text retrieval and the modality gap" in page and "image→text R@1" in page
    assert "FactorWorld retrieval: typos" in page and "gap distance" in page
    with open(tmp_path / "report_data" / "retrieval-table.csv", newline="") as f:
        table = {row["shift"]: row for row in csv.DictReader(f)}
    assert set(table) == {"clean", fog.shift, typos.shift}  # the gap-only record adds no row of its own
    drop = typos.metric("i2t_r1").value - clean.metric("i2t_r1").value
    assert float(table[typos.shift]["Δ image→text R@1"]) == pytest.approx(drop, abs=1e-9)


def record_ids() -> list[str]:
    return make_benchmark(BENCH, None).dataset().sample_ids


def test_a_fixed_head_model_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    args = ["run", "-m", "zoo:sup-cnn-tiny", "-m", MODEL, "-b", "factorworld_retrieval(n=8)"]
    result = CliRunner().invoke(app, [*args, "--store", str(tmp_path / "r.db"), "--no-progress", "--workers", "0"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "skipped zoo:sup-cnn-tiny on factorworld_retrieval(n=8)" in result.output
    assert [r.model for r in Store(str(tmp_path / "r.db")).records()] == [MODEL]


def test_a_text_shift_on_a_set_without_captions_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["run", "-m", MODEL, "-b", "factorworld(n=8)", "--shift", TYPOS,
                                      "--store", str(tmp_path / "r.db"), "--no-progress"])  # fmt: skip
    # the command line's entry point prints a UsageError as one line with exit code 2 (see test_cli.py)
    assert isinstance(result.exception, UsageError)
    assert str(result.exception).startswith("typos is a text shift: it perturbs captions, and factorworld has none")
