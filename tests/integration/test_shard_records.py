"""The same photos as a folder layout, a CLIP_benchmark webdataset release and a ``save_to_disk`` folder give the
same records through ``zeroshift run``; a rerun is served from the cache.

The model is a tiny open_clip ViT with random weights (real open_clip code). The oracle is computed outside
zeroshift's engine: the adapter's own image and text towers on the photos, CLIP's zero-shot head written out
here (mean of normalised prompt embeddings, renormalised; argmax of cosines) and labels read from the photos'
file names.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests import tiny_open_clip
from tests.helpers import build_wnid_layout, require_shared
from tests.integration.test_shard_sources import _write_shards
from zeroshift.cli.main import main
from zeroshift.data.info import clip_classnames, subset_wnids, wnid_index
from zeroshift.data.sources import SOURCES_FILE
from zeroshift.models import resolve_model
from zeroshift.prompts import load_prompts
from zeroshift.results.store import Store

pytestmark = pytest.mark.slow  # three CLI runs, a save_to_disk and the oracle: about 3 min on the shared machine

MODEL = tiny_open_clip.TINY_VIT
BENCH = "imagenet_r"


def _run(capsys, root: Path, cache: Path, store: Path) -> dict:
    args = ["run", "-m", MODEL, "-b", BENCH, "-p", "simple", "--data-root", str(root), "--store", str(store)]
    args += ["--workers", "0", "--no-progress", "--json", "--save-samples", "--bootstrap", "50", "--device", "cpu"]
    try:
        main(args)
    except SystemExit as exit_:
        assert not exit_.code, capsys.readouterr()
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out
    return lines[0]


def _save_hf(files: list[Path], out: Path) -> None:
    import datasets

    wnids = list(subset_wnids("imagenet_r"))
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=wnids)})
    data = {"image": [str(p) for p in files], "label": [wnids.index(p.parent.name) for p in files]}
    datasets.Dataset.from_dict(data, features=features).save_to_disk(str(out))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, monkeypatch_module) -> dict:
    require_shared("imagenet-samples")
    tiny_open_clip.register()
    base = tmp_path_factory.mktemp("shard_records")
    monkeypatch_module.setenv("ZEROSHIFT_CACHE", str(base / "cache"))
    folder_root = base / "folder"
    # 48 of the 200 classes (one photo each) keep it quick; the label space stays the benchmark's 200 classes
    wnids = set(subset_wnids("imagenet_r")[::4][:48])
    files = sorted(build_wnid_layout(folder_root / "imagenet-r", wnids))
    wds_root = base / "wds"
    # the layout of CLIP_benchmark's wds_imagenet-r release (test_shard_sources checks it against CLIP_benchmark's
    # own exporter on all 200 classes): labels are positions among the 200 classes, classnames.txt their names
    order = list(subset_wnids("imagenet_r"))
    samples = [(f"s{i:04d}", p.read_bytes(), order.index(p.parent.name)) for i, p in enumerate(files)]
    _write_shards(wds_root / "wds_imagenet-r", samples, per_shard=20)
    names = [clip_classnames()[wnid_index()[w]] for w in order]
    (wds_root / "wds_imagenet-r" / "classnames.txt").write_text("\n".join(names) + "\n")
    hf_root = base / "hf"
    _save_hf(files, hf_root / "saved" / "imagenet-r")
    (hf_root / SOURCES_FILE).write_text("imagenet_r: {kind: hf, path: saved/imagenet-r}\n")
    return {"files": files, "base": base, "roots": {"folder": folder_root, "wds": wds_root, "hf": hf_root}}


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def _oracle(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Labels from the file names and zero-shot predictions from the adapter's towers, outside the engine."""
    model = resolve_model(MODEL).load()
    wnids = list(subset_wnids("imagenet_r"))
    labels = np.array([wnids.index(p.parent.name) for p in files])
    names = [clip_classnames()[wnid_index()[w]] for w in wnids]
    templates = load_prompts("simple").templates
    with torch.no_grad():
        head = []
        for name in names:
            t = model.encode_text([tpl.format(name) for tpl in templates]).float()
            t = t / t.norm(dim=-1, keepdim=True)
            head.append(t.mean(0) / t.mean(0).norm())
        head = torch.stack(head)
        pixels = torch.stack([model.preprocess.geometry(Image.open(p).convert("RGB")) for p in files])
        img = model.encode_image(model.preprocess.normalize(pixels)).float()
        img = img / img.norm(dim=-1, keepdim=True)
        predictions = (img @ head.T).argmax(1).numpy()
    return labels, predictions


def test_folder_shards_and_saved_dataset_give_the_same_records(runs, capsys):
    records, samples = {}, {}
    for kind, root in runs["roots"].items():
        store = runs["base"] / f"{kind}.db"
        records[kind] = _run(capsys, root, runs["base"] / "cache", store)
        stored = Store(str(store)).records()
        assert len(stored) == 1
        samples[kind] = Store(str(store)).samples(stored[0].run_id)
    folder = records["folder"]
    n = len(runs["files"])
    assert len(samples["folder"].sample_ids) == n
    for kind in ("wds", "hf"):
        other = records[kind]
        assert other["metrics"] == folder["metrics"], kind  # values, intervals and details, exactly
        # every protocol entry agrees but the benchmark's source, which names the release it was read from
        benchmark = other["protocol"].pop("benchmark")
        assert set(benchmark) == {"source"} and benchmark["source"]["kind"] == kind
        assert other["protocol"] == folder["protocol"], kind
        assert samples[kind].labels == samples["folder"].labels
        assert samples[kind].topk == samples["folder"].topk
        np.testing.assert_array_equal(samples[kind].topk_scores, samples["folder"].topk_scores)
        assert [s.split("/")[0] for s in samples[kind].sample_ids] == [
            s.split("/")[0] for s in samples["folder"].sample_ids
        ]
    assert "benchmark" not in folder["protocol"]  # the folder layout records no source

    # oracle: labels from the file names, predictions from the towers outside the engine
    labels, predictions = _oracle(runs["files"])
    ids = [f"{p.parent.name}/{p.name}" for p in runs["files"]]
    by_id = {sid: i for i, sid in enumerate(ids)}
    idx = [by_id[s] for s in samples["folder"].sample_ids]
    assert samples["folder"].labels == labels[idx].tolist()
    assert [t[0] for t in samples["folder"].topk] == predictions[idx].tolist()
    top1 = next(m for m in folder["metrics"] if m["name"] == "top1")
    assert top1["value"] == pytest.approx(float(np.mean(predictions == labels)), abs=1e-12)


def test_a_rerun_on_shards_is_served_from_the_cache(runs, capsys):
    store = runs["base"] / "wds-again.db"
    first = _run(capsys, runs["roots"]["wds"], runs["base"] / "cache", runs["base"] / "wds.db")
    again = _run(capsys, runs["roots"]["wds"], runs["base"] / "cache", store)
    assert again["counts"]["encoded_total"] == 0 and again["counts"]["encoded"] == 0
    assert again["metrics"] == first["metrics"]
