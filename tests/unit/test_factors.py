"""Six-factor analysis: results grouped by model metadata and prompt sets; the CLI's --group-by."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zeroshift.cli.main import app
from zeroshift.errors import UsageError
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.factors import decade, group_by
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store

POINTS = [
    # model, training data, data size, prompts, top1 on imagenet, top1 on imagenet_r
    ("open_clip:a", "LAION-2B", 2_320_000_000, "openai", 0.70, 0.80),
    ("open_clip:a", "LAION-2B", 2_320_000_000, "simple", 0.66, 0.78),
    ("open_clip:b", "LAION-400M", 400_000_000, "openai", 0.60, 0.70),
    ("open_clip:c", "LAION-400M", 400_000_000, "openai", 0.64, 0.74),
    ("timm:d", "ImageNet-1k", 1_281_167, "n/a (fixed head)", 0.80, 0.40),
]


def records():
    out = []
    for model, data, size, prompts, in1k, r in POINTS:
        info = {"training_data": data, "data_size": size, "loss": "supervised" if model.startswith("timm") else
                "contrastive"}  # fmt: skip
        for bench, value in (("imagenet(split='val')", in1k), ("imagenet_r", r)):
            out.append(RunRecord.new(model=model, benchmark=bench, shift=None, prompts=prompts, label_space="full",
                                     model_info=info, metrics=[MetricValue("top1", value, True)]))  # fmt: skip
    return out


def test_group_by_training_data_gives_mean_and_spread_per_condition():
    rows = group_by(records(), ["training_data"], ["top1"], n_boot=200)
    by = {(r.benchmark, r.group): r for r in rows}
    laion400 = by[("imagenet(split='val')", ("LAION-400M",))]
    assert laion400.n == 2 and laion400.mean == pytest.approx(0.62)
    assert laion400.std == pytest.approx(np.std([0.60, 0.64], ddof=1))
    assert (laion400.min, laion400.max) == (0.60, 0.64)
    assert laion400.ci_low <= laion400.mean <= laion400.ci_high
    laion2b = by[("imagenet_r", ("LAION-2B",))]
    assert laion2b.n == 2 and laion2b.mean == pytest.approx(0.79)  # two prompt sets of one model: two points
    single = by[("imagenet_r", ("ImageNet-1k",))]
    assert single.n == 1 and np.isnan(single.std)
    assert len(rows) == 6


def test_group_by_prompts_and_data_size_decades():
    rows = group_by(records(), ["prompts"], ["top1"], n_boot=0)
    imagenet = {r.group[0]: r.mean for r in rows if r.benchmark.startswith("imagenet(")}
    assert imagenet == {"openai": pytest.approx(np.mean([0.70, 0.60, 0.64])), "simple": 0.66, "n/a (fixed head)": 0.80}
    sizes = {r.group for r in group_by(records(), ["data_size", "loss"], ["top1"], n_boot=0)}
    assert sizes == {("1e9-1e10", "contrastive"), ("1e8-1e9", "contrastive"), ("1e6-1e7", "supervised")}
    assert decade(None) == "unknown" and decade(999) == "1e2-1e3"


def test_unknown_group_field_suggests_the_right_one():
    with pytest.raises(UsageError, match="did you mean 'training_data'"):
        group_by(records(), ["trainingdata"])


def test_results_group_by_cli(tmp_path, capsys):
    store_path = tmp_path / "r.db"
    store = Store(store_path)
    for r in records():
        store.write(r)
    runner = CliRunner()
    result = runner.invoke(app, ["results", "--store", str(store_path), "--group-by", "training_data", "-f", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.strip().splitlines()
    assert header.startswith("training_data,benchmark,shift,label_space,metric,n,mean,std")
    assert any(line.startswith("LAION-400M,imagenet_r,,full,top1,2,0.72") for line in lines)
    table = runner.invoke(app, ["results", "--store", str(store_path), "--group-by", "loss", "--group-by", "prompts"])
    assert table.exit_code == 0 and "top1 by loss, prompts" in table.output
    as_json = runner.invoke(app, ["results", "--store", str(store_path), "--group-by", "loss", "--group-by", "prompts",
                                  "-f", "json", "--metric", "top1"])  # fmt: skip
    groups = {(g["loss"], g["prompts"], g["benchmark"]): g for g in json.loads(as_json.output)}
    assert groups[("contrastive", "openai", "imagenet_r")]["n"] == 3
    assert groups[("supervised", "n/a (fixed head)", "imagenet_r")]["mean"] == 0.4
    # every result row carries the model's metadata
    rows = runner.invoke(app, ["results", "--store", str(store_path), "-f", "csv"]).output.splitlines()
    assert "training_data" in rows[0].split(",") and "data_size" in rows[0].split(",")

    from zeroshift.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["results", "--store", str(store_path), "--group-by", "trainng_data"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'training_data'" in err[0]
