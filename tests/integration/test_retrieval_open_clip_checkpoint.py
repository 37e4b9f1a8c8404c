"""zeroshift's six recalls equal CLIP_benchmark's ``zeroshot_retrieval`` on one open_clip checkpoint file (issue 12).

The checkpoint is the tiny open_clip ViT of ``tests/tiny_open_clip.py`` with seeded random weights, saved with
torch.save; the data is a captioned set in CLIP_benchmark's ``flickr30k`` layout (``flickr30k_test_karpathy.txt``
and ``<name>.jpg``) built from the shared real photos, each with two to five captions from its class name and its
WordNet synonyms (manifest.csv). zeroshift reads it as ``flickr30k_retrieval`` through the command line;
CLIP_benchmark reads it with its own dataset builder, model loader, collate function and ``evaluate``, fp32.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny_open_clip
from tests.helpers import require_shared
from zeroshift.cli.main import app
from zeroshift.models import resolve_model
from zeroshift.results.store import Store

pytest.importorskip("clip_benchmark", reason="clip-benchmark is a test-only dependency (uv sync --group dev)")

ARCH = "ZS-Test-Tiny-ViT"
#: every 25th class of the shared photos: 40 images, 130-odd captions
STEP = 25


def captions_of(row: dict[str, str]) -> list[str]:
    """Two to five captions from the class name and the WordNet synonyms (the Latin names included)."""
    names = [n.strip() for n in row["wordnet_names"].split(",") if n.strip()]
    out = [f"a photo of a {row['label']}.", f"{row['label'].replace('_', ' ')}, seen up close"]
    out += [f"a picture of a {n}." for n in names[:3] if n != row["label"]]
    return out


def build_flickr_layout(root: Path) -> list[list[str]]:
    """``root/flickr30k/`` in CLIP_benchmark's layout; the captions per image, in file order."""
    photos = require_shared("imagenet-samples")
    folder = root / "flickr30k"
    folder.mkdir(parents=True)
    with open(photos / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))[::STEP]
    lines, captions = ["image,caption"], []
    for row in rows:
        name = f"{row['wnid']}.jpg"  # CLIP_benchmark splits each line on ".jpg,"
        shutil.copy(photos / row["file"], folder / name)
        captions.append(captions_of(row))
        lines += [f"{name},{c}" for c in captions[-1]]
    (folder / "flickr30k_test_karpathy.txt").write_text("\n".join(lines) + "\n")
    return captions


def clip_benchmark_recalls(checkpoint: Path, root: Path) -> dict[str, float]:
    from clip_benchmark.datasets.builder import build_dataset, get_dataset_collate_fn
    from clip_benchmark.metrics import zeroshot_retrieval
    from clip_benchmark.models import load_clip

    model, transform, tokenizer = load_clip("open_clip", ARCH, str(checkpoint), cache_dir=None, device="cpu")
    model.eval()
    dataset = build_dataset(
        "flickr30k", root=str(root), transform=transform, split="test", download=False, task="zeroshot_retrieval"
    )
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=16, shuffle=False, num_workers=0, collate_fn=get_dataset_collate_fn("flickr30k")
    )
    return zeroshot_retrieval.evaluate(model, loader, tokenizer, "cpu", amp=False, recall_k_list=[1, 5, 10])


def test_six_recalls_equal_clip_benchmark_on_an_open_clip_checkpoint(tmp_path, monkeypatch):
    tiny_open_clip.register()
    checkpoint = tmp_path / "tiny_vit_seed0.pt"
    torch.save(resolve_model(tiny_open_clip.TINY_VIT).load().module.state_dict(), checkpoint)
    data_root = tmp_path / "data"
    captions = build_flickr_layout(data_root)
    n_images, n_captions = len(captions), sum(map(len, captions))
    assert n_images == 40 and n_captions > 2 * n_images

    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    store = tmp_path / "results.db"
    args = ["run", "-m", f"open_clip:{ARCH}@{checkpoint}", "-b", "flickr30k_retrieval", "--data-root", str(data_root)]
    args += ["--store", str(store), "--no-progress", "--workers", "0", "--bootstrap", "0", "--precision", "fp32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output[-2000:]
    (record,) = Store(str(store)).records()
    assert record.counts["evaluated"] == n_images
    assert record.protocol["retrieval"]["n_captions"] == n_captions
    assert record.protocol["retrieval"]["tied_queries"] == {"image_to_text": 0, "text_to_image": 0}

    theirs = clip_benchmark_recalls(checkpoint, data_root / "flickr30k")
    for k in (1, 5, 10):
        for ours, peer, n in (
            (f"i2t_r{k}", f"text_retrieval_recall@{k}", n_images),
            (f"t2i_r{k}", f"image_retrieval_recall@{k}", n_captions),
        ):
            value = record.metric(ours).value
            # the same hits: CLIP_benchmark's mean is float32, so compare the counts it stands for
            assert round(value * n) == round(theirs[peer] * n), (ours, value, theirs[peer])
            assert value == pytest.approx(theirs[peer], abs=1e-6)
    recalls = [record.metric(f"{d}_r{k}").value for d in ("i2t", "t2i") for k in (1, 5, 10)]
    assert min(recalls) > 0 and max(recalls) < 1  # random weights, yet not a degenerate all-or-nothing case
    assert record.metric("mean_recall").value == pytest.approx(sum(recalls) / 6, abs=1e-12)
