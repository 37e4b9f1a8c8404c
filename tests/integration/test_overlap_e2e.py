"""Train/test overlap end to end (issue 15): `zeroshift run --metrics overlap` and `zeroshift overlap index|check`
on a zoo model's regenerated training images, checked against a brute-force numpy oracle on the model's own
embeddings computed outside the engine."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from zeroshift.data import make_benchmark
from zeroshift.models import resolve_model
from zeroshift.overlap.zoo_corpus import zoo_training_corpus
from zeroshift.results.store import Store

EXE = Path(sys.executable).with_name("zeroshift")
MODEL = "zoo:clip-cnn-narrow"
POOL = 40
BENCH = f"factorworld_leaked(n=24, pool={POOL})"


def zeroshift(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=900, env={**os.environ, **env})


def embed(images) -> np.ndarray:
    """The model's image embeddings, L2-normalised: its own preprocessing and encoder, no zeroshift engine."""
    model = resolve_model(MODEL).load()
    with torch.no_grad():
        x = torch.stack([model.preprocess.geometry(im) for im in images])
        rows = model.encode_image(model.preprocess.normalize(x)).float().numpy()
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("overlap")
    env = {"ZEROSHIFT_CACHE": str(tmp / "cache")}
    store = tmp / "results.db"
    common = ["-m", MODEL, "-b", BENCH, "--store", str(store), "--no-progress", "--workers", "0", "--json"]
    first = zeroshift("run", *common, "--metrics", "accuracy", "--metrics", "overlap", "--save-samples",
                      "--bootstrap", "100", env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    index_dirs = list((tmp / "cache").rglob("overlap-index/*/manifest.json"))
    stamp = [p.stat().st_mtime_ns for p in index_dirs]
    again = zeroshift("run", *common, "--metrics", "overlap", "--bootstrap", "50", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    return {"tmp": tmp, "env": env, "store": store, "index_manifests": index_dirs, "stamp": stamp}


@pytest.fixture(scope="module")
def oracle() -> dict:
    """Nearest training neighbour of each test image by brute-force numpy over the corpus embeddings."""
    data = make_benchmark(BENCH, None).dataset()
    corpus = zoo_training_corpus("clip-cnn-narrow", POOL, 0)
    test = embed([data.load(i)[0] for i in range(len(data))])
    train = embed([corpus.load(i)[0] for i in range(len(corpus))])
    sims = test @ train.T
    return {"ids": data.sample_ids, "cos": sims.max(axis=1), "nn": [corpus.keys()[j] for j in sims.argmax(axis=1)],
            "leaked": np.asarray(data.meta["leaked"]), "test": test}  # fmt: skip


def test_run_records_overlap_flags_and_scores_against_a_numpy_oracle(runs, oracle):
    store = Store(str(runs["store"]))
    first, again = store.records()
    samples = store.samples(first.run_id)
    assert samples.sample_ids == oracle["ids"]
    protocol = first.protocol["overlap"]
    rule = protocol["flags"]["rule"]
    expected = oracle["cos"] >= rule["threshold"]
    assert samples.extra["overlap"] == expected.tolist()
    np.testing.assert_allclose(samples.extra["overlap_nn_cosine"], oracle["cos"], atol=1e-4)
    assert samples.extra["overlap_nn_key"] == oracle["nn"]
    # every leaked training image is found (cosine 1 to itself), so the flag's recall on the ground truth is 1
    assert expected[oracle["leaked"]].all() and first.metric("overlap_flag_recall").value == 1.0
    assert first.metric("overlap_rate").value == pytest.approx(expected.mean())
    correct = np.array([t[0] == label for t, label in zip(samples.topk, samples.labels, strict=True)], dtype=float)
    assert first.metric("overlap_top1_all").value == pytest.approx(correct.mean())
    assert first.metric("overlap_top1_clean").value == pytest.approx(correct[~expected].mean())
    assert first.metric("overlap_top1_clean_minus_all").value == pytest.approx(
        correct[~expected].mean() - correct.mean()
    )
    lo, hi = first.metric("overlap_top1_clean_minus_all").ci_low, first.metric("overlap_top1_clean_minus_all").ci_high
    assert lo <= first.metric("overlap_top1_clean_minus_all").value <= hi
    # every protocol choice is in the record: the rule, k, pHash, the index (its model and corpus)
    assert rule["max_hamming"] is None and "measured" in rule["source"] and protocol["flags"]["k"] == 5
    index = protocol["flags"]["index"]
    assert index["model"]["fingerprint"] == first.fingerprints["model"]
    assert index["corpus"]["root"] == "zoo:clip-cnn-narrow" and index["corpus"]["sample"] == POOL
    assert index["index"]["type"] == "flat" and index["counts"]["embedded"] == POOL
    assert protocol["truth_column"] == "leaked"
    # the flagged pairs a report shows: up to six flagged samples, highest cosine first, with the oracle's neighbours
    shown = protocol["examples"]
    position = {sid: i for i, sid in enumerate(oracle["ids"])}
    assert len(shown) == min(6, int(expected.sum())) > 0
    for ex in shown:
        i = position[ex["sample"]]
        assert (
            expected[i]
            and ex["neighbour"] == oracle["nn"][i]
            and ex["cosine"] == pytest.approx(oracle["cos"][i], abs=1e-3)
        )
    rest = [oracle["cos"][i] for i in np.flatnonzero(expected) if oracle["ids"][i] not in {e["sample"] for e in shown}]
    assert min(e["cosine"] for e in shown) >= max(rest, default=-1.0) - 1e-3


def test_second_run_is_served_from_the_cache(runs):
    _, again = Store(str(runs["store"])).records()
    # the test images and the flags come from the cache, and the index is not rebuilt
    assert again.counts["encoded_total"] == 0 and again.metric("overlap_rate") is not None
    assert len(runs["index_manifests"]) == 1
    assert [p.stat().st_mtime_ns for p in runs["index_manifests"]] == runs["stamp"]


def test_overlap_cli_index_and_check_agree_with_the_run(runs, oracle):
    tmp, env = runs["tmp"], runs["env"]
    folder, out = tmp / "idx", tmp / "check.csv"
    built = zeroshift("overlap", "index", "zoo-train:clip-cnn-narrow", "--sample", str(POOL), "-m", MODEL,
                      "-o", str(folder), "--no-progress", env=env)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    assert f"{POOL} samples indexed" in built.stdout
    checked = zeroshift("overlap", "check", "-b", BENCH, "--index", str(folder), "--phash", "--out", str(out),
                        "--no-progress", env=env)  # fmt: skip
    assert checked.returncode == 0, checked.stderr[-3000:]
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    flags = [row.split(",")[header.index("overlap")] == "True" for row in lines[1:]]
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["protocol"]["rule"]["max_hamming"] is not None  # pHash confirmation recorded
    # exact copies: cosine 1 and pHash distance 0, so every leaked image stays flagged with the confirmation
    hamming = [int(row.split(",")[header.index("nn_hamming")]) for row in lines[1:]]
    leaked = oracle["leaked"]
    assert all(flags[i] for i in np.flatnonzero(leaked)) and all(hamming[i] == 0 for i in np.flatnonzero(leaked))
    # another model's features against this index: refused, naming both
    other = zeroshift("overlap", "check", "-b", BENCH, "--index", str(folder), "-m", "zoo:clip-cnn-diverse",
                      "--no-progress", env=env)  # fmt: skip
    assert other.returncode == 2
    assert "zoo:clip-cnn-narrow" in other.stderr and "zoo:clip-cnn-diverse" in other.stderr


def test_overlap_dedup_cli_within_and_between_against_brute_force(runs, oracle):
    """`zeroshift overlap dedup`: between the benchmark and its training corpus (as the `corpus` benchmark), every
    sample's nearest corpus image and cosine as numpy finds them; within the benchmark, the samples with another
    sample above the threshold."""
    from zeroshift.overlap.checks import default_rule

    tmp, env = runs["tmp"], runs["env"]
    tau = default_rule(MODEL).threshold
    between, within = tmp / "between.csv", tmp / "within.csv"
    corpus = f"corpus(location='zoo-train:clip-cnn-narrow', sample={POOL})"
    done = zeroshift("overlap", "dedup", "-b", BENCH, "-b", corpus, "-m", MODEL, "--out", str(between),
                     "--no-progress", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with open(between) as f:
        rows = list(csv.DictReader(f))
    assert [r["cross_nn_key"] for r in rows] == oracle["nn"]
    np.testing.assert_allclose([float(r["cross_nn_cosine"]) for r in rows], oracle["cos"], atol=1e-4)
    assert [r["cross_duplicate"] == "True" for r in rows] == (oracle["cos"] >= tau).tolist()
    assert all(r["cross_duplicate"] == "True" for r, leaked in zip(rows, oracle["leaked"], strict=True) if leaked)
    done = zeroshift("overlap", "dedup", "-b", BENCH, "-m", MODEL, "--out", str(within), "--no-progress", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(within) as f:
        groups = [int(r["dup_group"]) for r in csv.DictReader(f)]
    sims = oracle["test"] @ oracle["test"].T
    np.fill_diagonal(sims, -1.0)
    assert [g >= 0 for g in groups] == (sims.max(axis=1) >= tau).tolist()
    assert json.loads(within.with_suffix(".json").read_text())["protocol"]["model"] == MODEL


def test_overlap_index_of_an_empty_folder_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    done = zeroshift("overlap", "index", str(tmp_path / "empty"), "-m", MODEL, "-o", str(tmp_path / "idx"),
                     "--no-progress", env={"ZEROSHIFT_CACHE": str(tmp_path / "cache")})  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no samples; expected" in lines[0], done.stderr
    assert not (tmp_path / "idx" / "manifest.json").exists()
