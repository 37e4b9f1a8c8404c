"""corruption3d through `zeroshift run`: values against a hand computation, the protocol, and the depth artefact
served from the cache (to a rerun and to another model of the same geometry)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from zeroshift.data import make_benchmark
from zeroshift.models import resolve_model
from zeroshift.results.store import Store

EXE = Path(sys.executable).with_name("zeroshift")
MODEL, OTHER = "zoo:sup-cnn-tiny", "zoo:sup-cnn-small"
BENCH = "factorworld(n=16)"
SHIFT = "corruption3d(name='fog_3d', severity=3, depth='factorworld')"
ALPHA = 12.0  # fog_3d at severity 3 (corruption3d.yaml; Kar et al. 2022, create_fog.py)


def zeroshift(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=600, env={**os.environ, **env})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    tmp = tmp_path_factory.mktemp("c3d")
    env = {"ZEROSHIFT_CACHE": str(tmp / "cache")}
    common = ["-b", BENCH, "--shift", SHIFT, "--store", str(tmp / "r.db"), "--no-progress", "--workers", "0"]
    for args in (
        # the second model has the first one's geometry: it reads the depth maps the first one's run computed
        ["-m", MODEL, "-m", OTHER, "--save-samples"],
        ["-m", MODEL, "--bootstrap", "50"],  # the same condition again, another process: all from the cache
    ):
        proc = zeroshift("run", *args, *common, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return Store(str(tmp / "r.db"))


def oracle_probabilities() -> tuple[list[str], np.ndarray]:
    """Fog by hand (float64): t = exp(-alpha d), I = t * rgb + mean(rgb) * (1 - t), rounded to 8 bits, then the
    model's own forward pass outside the engine."""
    from zeroshift.data.factorworld.depth import render_depth

    dataset = make_benchmark(BENCH, None).dataset()
    model = resolve_model(MODEL).load()
    images = []
    for i in range(len(dataset)):
        rgb = model.preprocess.geometry(dataset.load(i)[0]).numpy().transpose(1, 2, 0).astype(np.float64)
        rgb = np.round(rgb * 255) / 255  # the shift sees 8-bit pixels
        depth = render_depth(dataset.params[i]).astype(np.float64)
        assert depth.shape == rgb.shape[:2]
        t = np.exp(-ALPHA * depth)[..., None]
        fogged = np.clip(t * rgb + rgb.mean() * (1 - t), 0, 1)
        images.append(np.round(fogged * 255).transpose(2, 0, 1) / 255)
    x = torch.as_tensor(np.stack(images), dtype=torch.float32)
    with torch.inference_mode():
        logits = model.encode_image(model.preprocess.normalize(x)).float()
    return dataset.sample_ids, torch.softmax(logits, dim=-1).numpy()


def test_a_3d_corruption_run_matches_the_hand_computation(store):
    first = store.records()[0]
    samples = store.samples(first.run_id)
    ids, probs = oracle_probabilities()
    assert samples.sample_ids == ids
    predicted = [k[0] for k in samples.topk]
    top_prob = [s[0] for s in samples.topk_scores]
    expected = probs.argmax(1)
    # the float32 fog may round a pixel to the neighbouring 8-bit level: probabilities agree closely
    assert np.abs(np.asarray(top_prob) - probs[np.arange(len(ids)), predicted]).max() < 2e-3
    assert (np.asarray(predicted) == expected).mean() >= 15 / 16
    labels = np.asarray(samples.labels)
    assert first.metric("top1").value == pytest.approx(float((np.asarray(predicted) == labels).mean()))


def test_the_record_names_the_corruption_and_its_depth(store):
    first = store.records()[0]
    shift = first.protocol["shift"]
    assert shift["params"] == {"alpha": ALPHA} and shift["op"] == "fog" and shift["resembles"] == "fog"
    assert shift["depth"]["depth_source"] == "factorworld" and shift["depth"]["exact"] is True
    assert "units" in shift["depth"] and "alignment" in shift["depth"]
    assert first.condition["kind"] == "corruption3d" and first.condition["corruption"] is None
    assert first.condition["corruption3d"] == {"name": "fog_3d", "severity": 3, "depth": "factorworld"}
    (depth,) = [r for r in first.counts["related"] if r["artefact"] == "depth"]
    assert depth["shift"] is None and depth["encoded"] == 16  # the maps of the clean images, computed once


def test_a_rerun_and_another_model_read_the_depth_maps_from_the_cache(store):
    first, other, again = store.records()
    assert (first.model, other.model, again.model) == (MODEL, OTHER, MODEL)
    assert again.counts["encoded_total"] == 0 and again.metric("top1").value == first.metric("top1").value
    (depth,) = [r for r in other.counts["related"] if r["artefact"] == "depth"]
    (depth_first,) = [r for r in first.counts["related"] if r["artefact"] == "depth"]
    # the maps do not depend on the model: the second model finds them under the same fingerprint
    assert depth["from_cache"] == 16 and depth["encoded"] == 0 and depth["fingerprint"] == depth_first["fingerprint"]
    assert other.counts["encoded"] == 16  # its own features are encoded


# --- a bad depth source is one line and exit code 2 before any image is encoded -----------------------------------
def _clip_folder(folder: Path) -> Path:
    import transformers

    transformers.CLIPConfig().save_pretrained(folder)  # a transformers folder, but not a depth model
    return folder


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        ("dpt:{tmp}/tiny-clip", "holds a 'clip' model, not a depth model (depth models: depth_anything, dpt)"),
        ("dpt:no-such-org/no-such-depth-model", "could not load 'no-such-org/no-such-depth-model' from the hub"),
        ("folder(path='{tmp}/maps')", "has no map for 8 of 8 images (first: "),
    ],
    ids=["not-a-depth-model", "unknown-hub-id-offline", "folder-missing-maps"],
)
def test_a_bad_depth_source_fails_up_front_with_one_line(tmp_path, depth, message):
    _clip_folder(tmp_path / "tiny-clip")
    (tmp_path / "maps").mkdir()
    env = {"ZEROSHIFT_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    bad = f"corruption3d(name='fog_3d', severity=1, depth=\"{depth.format(tmp=tmp_path)}\")"
    # a depth-free corruption planned first: it would encode 8 images if the bad source were found only when reached
    proc = zeroshift("run", "-m", MODEL, "-b", "factorworld(n=8)", "--shift", "corruption3d(name='iso_noise', "
                     "severity=1)", "--shift", bad, "--store", str(tmp_path / "r.db"), "--no-progress", "--workers",
                     "0", env=env)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "cache").rglob("chunk-*")), "an image was encoded before the check"
    assert not (tmp_path / "r.db").exists() or Store(str(tmp_path / "r.db")).count() == 0


def test_an_unknown_3d_corruption_is_one_line_with_a_suggestion(tmp_path):
    proc = zeroshift("run", "-m", MODEL, "-b", "factorworld(n=8)", "--shift", "corruption3d(name='fog3d', severity=1, "
                     "depth='factorworld')", "--store", str(tmp_path / "r.db"), "--no-progress",
                     env={"ZEROSHIFT_CACHE": str(tmp_path / "cache")})  # fmt: skip
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown 3D corruption 'fog3d'; did you mean 'fog_3d'?" in lines[0], proc.stderr
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("chunk-*"))
