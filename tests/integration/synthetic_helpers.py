"""Helpers for the synthetic-shift and attack integration tests: a tiny random zero-shot model and ImageNet
layouts whose labels are a model's own clean predictions (so a random model starts at 100 % accuracy and
attacks have something to lower)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tests.helpers import build_wnid_layout, sample_manifest
from zeroshift.data.info import imagenet_wnids
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.specs import RunSpec

TINY_CLIP = "zeroshift-tiny-clip-test"
#: a 2-layer ViT / 2-layer text transformer at 64 px: a real open_clip model, random weights, fast on a CPU
TINY_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TIMM = "random:timm/test_resnet?seed=0"


def tiny_clip_spec(seed: int = 0) -> str:
    """Register the tiny architecture with open_clip (once per process) and return its random: spec."""
    import open_clip

    if TINY_CLIP not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="zeroshift-tiny-clip-"))
        path = folder / f"{TINY_CLIP}.json"
        path.write_text(json.dumps(TINY_CLIP_CONFIG))
        open_clip.add_model_config(path)
    return f"random:open_clip/{TINY_CLIP}?seed={seed}"


def photo_wnids(n: int) -> set[str]:
    """The WordNet ids of the first ``n`` shared photos (one photo each)."""
    return {row["wnid"] for row in sample_manifest()[:n]}


def predicted_layout(root: Path, model: str, n: int, cache_dir: Path, prompts: str = "simple") -> Path:
    """An ``imagenet/val`` layout of ``n`` shared photos, each filed under the class ``model`` predicts for it."""
    staging = root / "staging"
    build_wnid_layout(staging / "imagenet" / "val", photo_wnids(n))
    runner = Runner(RunOptions(data_root=staging, cache_dir=cache_dir, workers=0, bootstrap=0))
    outputs = runner.outputs(RunSpec.make(model, "imagenet", None, prompts))
    wnids = imagenet_wnids()
    labelled = root / "labelled"
    for sid, pred in zip(outputs.sample_ids, outputs.logits.argmax(dim=1).tolist(), strict=True):
        target = labelled / "imagenet" / "val" / wnids[pred] / Path(sid).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(staging / "imagenet" / "val" / sid, target)
    return labelled
