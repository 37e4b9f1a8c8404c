"""Correspondence through `zeroshift run`: the dense artefact on its letterboxed pass, the correspondence group's PCK
against an oracle computed here (numpy: bilinear sampling, cosine argmax, threshold count), the protocol entries, a
second run served from the cache (issue 13 part B)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zeroshift.data import make_benchmark
from zeroshift.models import resolve_model
from zeroshift.results.store import Store

EXE = Path(sys.executable).with_name("zeroshift")
MODEL = "zoo:clip-vit-diverse"
PAIRS = "factorworld_pairs(n=10, seed=3)"


def zeroshift(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZEROSHIFT_CACHE": str(cache)}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=900, env=env)


def letterbox(image: Image.Image, side: int) -> torch.Tensor:
    """The oracle's own letterbox: white padding at the bottom and right to a square, bicubic to ``side``."""
    w, h = image.size
    s = max(w, h)
    canvas = Image.new("RGB", (s, s), (255, 255, 255))
    canvas.paste(image.convert("RGB"), (0, 0))
    if s != side:
        canvas = canvas.resize((side, side), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1)


def bilinear(fmap: np.ndarray, u: float, v: float) -> np.ndarray:
    """``fmap`` (C, h, w) at cell coordinates (u, v) whose cell centres sit at integers, clamped at the border."""
    _, h, w = fmap.shape
    u, v = min(max(u, 0.0), w - 1.0), min(max(v, 0.0), h - 1.0)
    x0, y0 = int(np.floor(u)), int(np.floor(v))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    ax, ay = u - x0, v - y0
    top = fmap[:, y0, x0] * (1 - ax) + fmap[:, y0, x1] * ax
    bottom = fmap[:, y1, x0] * (1 - ax) + fmap[:, y1, x1] * ax
    return top * (1 - ay) + bottom * ay


def oracle_pck(maps: list[np.ndarray], pairs, alpha: float) -> float:
    """Correct keypoints over valid keypoints, pooled over pairs, by probe3d's procedure: both maps unit-normalised
    per cell, the source map sampled bilinearly at each keypoint, the argmax of its dot products with the target."""
    correct = total = 0
    for r in range(len(pairs)):
        src = maps[int(pairs.source[r])]
        src = src / np.linalg.norm(src, axis=0, keepdims=True)
        trg = maps[int(pairs.target[r])]
        trg_unit = trg / np.linalg.norm(trg, axis=0, keepdims=True)
        c, h, w = trg.shape
        side_s = max(pairs.source_size[r])
        side_t = max(pairs.target_size[r])
        tw, th = pairs.target_size[r]
        for k in np.flatnonzero(pairs.valid[r]):
            x, y = pairs.source_kps[r, k]
            q = bilinear(src, x * src.shape[2] / side_s - 0.5, y * src.shape[1] / side_s - 0.5)
            sims = np.einsum("c,chw->hw", q, trg_unit)
            cx = (np.arange(w) + 0.5) * side_t / w
            cy = (np.arange(h) + 0.5) * side_t / h
            sims[(cy[:, None] >= th) | (cx[None, :] >= tw)] = -np.inf  # cells in the padding
            j, i = np.unravel_index(int(np.argmax(sims)), sims.shape)
            error = np.hypot(cx[i] - pairs.target_kps[r, k, 0], cy[j] - pairs.target_kps[r, k, 1])
            correct += int(error <= alpha * pairs.normaliser[r])
            total += 1
    return correct / total


def oracle_maps(spec: str, data_root: Path | None = None) -> tuple[list[np.ndarray], object]:
    model = resolve_model(MODEL).load()
    side = int(model.config["image_size"])
    data = make_benchmark(spec, data_root).dataset()
    pixels = torch.stack([letterbox(data.load(i)[0], side) for i in range(len(data))])
    with torch.no_grad():
        maps = model.module.image.dense(model.preprocess.normalize(pixels), -1)
    # the artefact stores float16 rows: the oracle matches the same numbers
    return [m.numpy().astype(np.float16).astype(np.float64) for m in maps], data.pairs


def run_json(spec: str, tmp: Path, *extra: str) -> list[dict]:
    proc = zeroshift("run", "-m", MODEL, "-b", spec, "--store", str(tmp / "r.db"), "--workers", "0", "--json",
                     "--no-progress", "--bootstrap", "100", *extra, cache=tmp / "cache")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_factorworld_pairs_through_the_command_line_match_the_oracle_and_reuse_the_cache(tmp_path):
    first = run_json(PAIRS, tmp_path)
    again = run_json(PAIRS, tmp_path)
    store = Store(str(tmp_path / "r.db"))
    record, second = store.records()
    maps, pairs = oracle_maps(PAIRS)
    for alpha in (0.05, 0.10, 0.15):
        assert record.metric(f"pck@{alpha:.2f}").value == pytest.approx(oracle_pck(maps, pairs, alpha), abs=1e-12)
    # bins: every rotation bin present has its own value, and the pooled value is their keypoint-weighted mean
    bins = [m for m in record.metrics if m.name.startswith("pck@0.10[rotation_bin=")]
    assert bins and sum(m.details["n_keypoints"] for m in bins) == record.metric("pck@0.10").details["n_keypoints"]
    weighted = sum(m.value * m.details["n_keypoints"] for m in bins) / sum(m.details["n_keypoints"] for m in bins)
    assert weighted == pytest.approx(record.metric("pck@0.10").value)
    entry = record.protocol["correspondence"]
    assert entry["dense"]["layer"] == -1 and entry["dense"]["layer_index"] == 2
    assert entry["dense"]["geometry"]["kind"] == "letterbox" and entry["dense"]["storage"] == "float16"
    assert entry["upsample"] == 1 and entry["alphas"] == [0.05, 0.1, 0.15] and entry["bins"] == ["rotation_bin"]
    assert entry["pairs"]["normaliser"] == "image side" and entry["n_pairs"] == 10
    # features and dense maps of 20 images encoded once; the second run reads them all from the cache
    assert first[0]["counts"]["encoded_total"] == 40 and again[0]["counts"]["encoded_total"] == 0
    assert second.metric("pck@0.10").value == record.metric("pck@0.10").value


def test_homography_pairs_of_a_non_square_folder_use_the_letterbox(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):  # smooth colour fields, wider than tall: the letterbox pads the bottom
        small = rng.uniform(0, 255, size=(6, 8, 3)).astype(np.uint8)
        Image.fromarray(small).resize((96, 72), Image.Resampling.BICUBIC).save(folder / f"p{i}.png")
    spec = f"homography_pairs(path='{folder}', n=3, seed=1)"
    run_json(spec, tmp_path, "--metric-param", "correspondence.upsample=1")
    record = Store(str(tmp_path / "r.db")).records()[0]
    maps, pairs = oracle_maps(spec)
    assert record.metric("pck@0.10").value == pytest.approx(oracle_pck(maps, pairs, 0.10), abs=1e-12)
    assert record.protocol["correspondence"]["dense"]["geometry"]["pad"] == "bottom-right to a square"


def test_spair_by_path_records_viewpoint_bins_and_category_means(tmp_path):
    from tests.unit.test_correspondence_data import write_image, write_pair

    root = tmp_path / "SPair-71k"
    sizes = {"2008_000001": (50, 40), "2008_000002": (60, 45), "2009_000003": (48, 48), "2009_000004": (44, 52)}
    cats = {"2008_000001": "cat", "2008_000002": "cat", "2009_000003": "dog", "2009_000004": "dog"}
    for i, (name, size) in enumerate(sizes.items()):
        write_image(root / "JPEGImages" / cats[name] / f"{name}.jpg", size, i)
    write_pair(root, 1, "cat", "2008_000001", "2008_000002", sizes)
    write_pair(root, 2, "cat", "2008_000002", "2008_000001", sizes, trg_bndbox=[1, 1, 45, 30])
    write_pair(root, 3, "dog", "2009_000003", "2009_000004", sizes)
    spec = f"spair(path='{root}')"
    run_json(spec, tmp_path)
    record = Store(str(tmp_path / "r.db")).records()[0]
    maps, pairs = oracle_maps(spec)
    assert record.metric("pck@0.10").value == pytest.approx(oracle_pck(maps, pairs, 0.10), abs=1e-12)
    names = {m.name for m in record.metrics}
    assert {"pck@0.10[viewpoint_variation=0]", "pck@0.10[category=cat]", "pck@0.10_category_mean"} <= names
    assert record.protocol["correspondence"]["pairs"]["normaliser"] == "max side of the target bndbox (PCK@bbox)"


@pytest.mark.parametrize(("precision", "autocast_dtype"), [("auto", None), ("bf16", torch.bfloat16)])
def test_the_dense_pass_runs_in_the_precision_the_record_states(tmp_path, monkeypatch, precision, autocast_dtype):
    """The dense features are taken under the encoder pass's autocast: what encode_dense sees is the precision the
    record states (auto on the CPU: fp32, no autocast; bf16 asked for: bf16 autocast on the CPU too)."""
    from zeroshift.engine.plan import PlanItem
    from zeroshift.engine.runner import Runner, RunOptions
    from zeroshift.models.zoo import ZooModel
    from zeroshift.specs import RunSpec

    seen: list[tuple[bool, torch.dtype | None]] = []
    encode_dense = ZooModel.encode_dense

    def spied(self, pixels, layer=-1):
        enabled = torch.is_autocast_enabled("cpu")
        seen.append((enabled, torch.get_autocast_dtype("cpu") if enabled else None))
        return encode_dense(self, pixels, layer)

    monkeypatch.setattr(ZooModel, "encode_dense", spied)
    runner = Runner(RunOptions(cache_dir=tmp_path / "c", workers=0, bootstrap=0, device="cpu", precision=precision))
    record = runner.run(PlanItem(RunSpec.make(MODEL, "factorworld_pairs(n=4, seed=3)"), ("correspondence",)))
    assert seen and set(seen) == {(autocast_dtype is not None, autocast_dtype)}
    stated = {"auto": "fp32", "bf16": "bf16"}[precision]
    assert record.protocol["precision"]["encode"] == stated
    assert record.protocol["correspondence"]["dense"]["precision"] == stated
    assert 0.0 <= record.metric("pck@0.10").value <= 1.0
