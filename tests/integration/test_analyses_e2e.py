"""End to end on real images: shape bias of random-weight models on the shared cue-conflict stimuli, an ImageNet-X
breakdown and a paired comparison on an ImageNet val folder whose file names are annotated validation images, and
effective robustness of stored runs against the shipped baseline. Nothing is encoded twice."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from tests.helpers import require_shared, sample_manifest
from zeroshift.cli.main import app
from zeroshift.data.info import subset_wnids
from zeroshift.reports.effective_robustness import baseline_points
from zeroshift.results.store import Store

RESNET = "random:timm/resnet18?seed=0"


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def run(store, *args):
    return invoke("run", "--store", store, "--no-progress", "--workers", "0", "--bootstrap", "200", *args)


def test_shape_bias_end_to_end_on_cue_conflict_stimuli(tmp_path):
    data = require_shared()
    require_shared("cue-conflict")
    humans = require_shared("human-responses")
    store = tmp_path / "r.db"
    # 1000-way ImageNet outputs mapped to 16 categories by mean probability (a random ResNet-18)
    run(store, "-m", RESNET, "-b", "cue_conflict", "-d", data, "--limit", "48", "--save-samples")
    run(store, "-m", RESNET, "-b", "edges", "-b", "silhouettes", "-d", data, "--limit", "16")
    report = json.loads(invoke("analyze", "shape-bias", "--store", store, "--humans", humans, "-f", "json"))
    (row,) = report["models"]
    assert row["model"] == RESNET and row["label_space"] == "mapped" and row["limited"]
    assert set(row["accuracy"]) == {"cue_conflict", "edges", "silhouettes"}
    # the stored shape bias equals a recount from the saved per-sample decisions and texture column
    db = Store(store)
    (rec,) = [r for r in db.records() if r.benchmark == "cue_conflict"]
    samples = db.samples(rec.run_id)
    shape = texture = 0
    for label, top, tex in zip(samples.labels, samples.topk, samples.extra["texture"], strict=True):
        if label != tex:
            shape += top[0] == label
            texture += top[0] == tex
    assert rec.metric("shape_bias").details["shape"] == shape
    assert rec.metric("shape_bias").details["texture"] == texture
    assert row["shape_bias"] == (pytest.approx(shape / (shape + texture)) if shape + texture else None)
    assert report["humans"]["shape_bias"] == pytest.approx(0.9587, abs=1e-4)
    assert rec.protocol["label_space"]["reduce"] == "mean_prob"
    header, *lines = invoke("analyze", "shape-bias", "--store", store, "--humans", humans, "-f", "csv").splitlines()
    assert header.split(",")[:4] == ["model", "prompts", "label_space", "shape_bias"]
    assert "silhouettes_accuracy" in header and lines[-1].startswith("humans,")
    table = invoke("analyze", "shape-bias", "--store", store, "--humans", humans, "--categories")
    assert "humans" in table and "per shape category" in table


def test_sixteen_names_as_prompts_and_prompt_sets_as_an_axis(tmp_path):
    data = require_shared()
    require_shared("cue-conflict")
    store = tmp_path / "r.db"
    prompts = tmp_path / "drawing.txt"
    prompts.write_text("a drawing of a {}.\na painting of a {}.\n")
    model = "random:open_clip/ViT-B-32?seed=0"
    run(store, "-m", model, "-b", "cue_conflict", "--label-space", "native", "-p", "simple", "-p", prompts,
        "-d", data, "--limit", "16", "--batch-size", "16")  # fmt: skip
    records = sorted(Store(store).records(), key=lambda r: r.prompts)
    assert [r.label_space for r in records] == ["native", "native"]
    first, second = (r for r in sorted(records, key=lambda r: r.created_at))
    assert first.counts["encoded"] == 16
    # the second prompt set reuses the image features: no image is encoded again
    assert second.counts["encoded"] == 0 and second.counts["from_cache"] == 16
    assert first.fingerprints["features"] == second.fingerprints["features"]
    assert first.fingerprints["head"] != second.fingerprints["head"]
    groups = json.loads(invoke("results", "--store", store, "--group-by", "prompts", "--metric", "shape_bias",
                               "-f", "json"))  # fmt: skip
    assert {g["prompts"] for g in groups} == {"simple", str(prompts)}


def annotated_val_names(folder, wnids):
    """For each wnid, the first annotated, non-prototype ImageNet val file of that class (filename_label.csv)."""
    with open(folder / "prototypical_paths.csv", newline="") as f:
        prototypes = {r["file_name"] for r in csv.DictReader(f)}
    with gzip.open(folder / "imagenet_x_val_top_factor.jsonl.gz", "rt") as f:
        annotated = {json.loads(line)["file_name"]: json.loads(line) for line in f}
    with open(folder / "imagenet_labels.txt") as f:
        index = {line.split(",")[0]: i for i, line in enumerate(f)}
    chosen = {}
    with open(folder / "filename_label.csv", newline="") as f:
        for row in csv.DictReader(f):
            name, label = row["file_name"], int(row["label"])
            for wnid in wnids:
                if wnid not in chosen and index[wnid] == label and name in annotated and name not in prototypes:
                    chosen[wnid] = name
    return chosen, annotated


def test_imagenet_x_breakdown_paired_comparison_and_effective_robustness(tmp_path):
    photos = require_shared("imagenet-samples")
    annotations = require_shared("reference-results/imagenet_x")
    rows = sample_manifest()
    r_wnids = set(subset_wnids("imagenet_r"))
    # 24 classes: 12 of ImageNet-R's 200 and 12 others, so the class-subset metric has samples
    wnids = [r["wnid"] for r in rows if r["wnid"] in r_wnids][:12] + [
        r["wnid"] for r in rows if r["wnid"] not in r_wnids
    ][:12]
    names, annotated = annotated_val_names(annotations, wnids)
    files = {r["wnid"]: r["file"] for r in rows}
    root = tmp_path / "data"
    for wnid in wnids:
        dst = root / "imagenet" / "val" / wnid / names[wnid]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photos / files[wnid], dst)
        if wnid in r_wnids:  # the same photos as a tiny ImageNet-R, for effective robustness
            rdst = root / "imagenet-r" / wnid / files[wnid]
            rdst.parent.mkdir(parents=True, exist_ok=True)
            os.link(dst, rdst)
    store = tmp_path / "r.db"
    for seed in (0, 1):
        run(store, "-m", f"random:timm/resnet18?seed={seed}", "-b", "imagenet", "-b", "imagenet_r", "-d", root,
            "--save-samples")  # fmt: skip

    # ImageNet-X: every image annotated, the factor counts are those of the chosen files' top factors
    report = json.loads(invoke("analyze", "imagenet-x", "--store", store, "--annotations", annotations,
                               "--model", RESNET, "-f", "json", "--bootstrap", "200"))  # fmt: skip
    (breakdown,) = report["runs"]
    assert breakdown["counts"]["annotated"] == 24
    assert breakdown["counts"]["unannotated"] == 0 and breakdown["counts"]["label_mismatch"] == 0
    expected = {}
    for wnid in wnids:
        for factor, flag in annotated[names[wnid]].items():
            if flag == 1 and factor not in ("class",):
                expected[factor] = expected.get(factor, 0) + 1
    got = {f["factor"]: f["n"] for f in breakdown["factors"] if f["n"]}
    assert got == expected
    db = Store(store)
    imagenet = next(r for r in db.records(model=RESNET) if r.benchmark.startswith("imagenet("))
    assert breakdown["accuracy"] == pytest.approx(imagenet.metric("top1").value)
    for f in breakdown["factors"]:
        if f["n"] and breakdown["accuracy"] < 1:
            assert f["error_ratio"] == pytest.approx((1 - f["accuracy"]) / (1 - breakdown["accuracy"]))
    assert "ImageNet-X (top factor)" in invoke("analyze", "imagenet-x", "--store", store, "--annotations",
                                                annotations, "--bootstrap", "50")  # fmt: skip

    # paired comparison of the two seeds on the same 24 images
    cmp = json.loads(invoke("compare", RESNET, "random:timm/resnet18?seed=1", "-b", "imagenet", "--store", store,
                            "-f", "json"))  # fmt: skip
    assert cmp["n"] == 24 and cmp["shared"] == 24
    assert 0 <= cmp["p_value"] <= 1 and cmp["method"] == "mcnemar"

    # effective robustness on ImageNet-R against the shipped testbed trend, with the 200-class ID axis
    assert imagenet.metric("top1_on_imagenet_r_classes").details["n"] == 12
    er = json.loads(invoke("analyze", "effective-robustness", "--store", store, "--shift", "imagenet_r",
                           "-f", "json", "--bootstrap", "200"))  # fmt: skip
    (fit,) = er["fits"]
    assert fit["n"] == len(baseline_points("imagenet_r", "testbed")[0]) > 50 and fit["transform"] == "logit"
    mine = {r["model"]: r for r in er["models"]}
    row = mine[RESNET]
    assert row["acc_id"] == pytest.approx(imagenet.metric("top1_on_imagenet_r_classes").value)
    assert row["effective_robustness"] == pytest.approx(row["acc_shift"] - row["expected"])
    assert "effective robustness" in invoke("analyze", "effective-robustness", "--store", store)
