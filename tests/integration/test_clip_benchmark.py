"""zeroshift equals CLIP_benchmark on the same checkpoint, data and template (the reference harness).

The checkpoint is open_clip ViT-B-32 with seeded random weights saved with torch.save; the data is an
ImageNet-R-layout folder of the shared real photos of its 200 classes; both sides use one template.
"""

import json
import shutil
import subprocess

import pytest
import torch

from tests.helpers import clip_benchmark_command
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.models import resolve_model
from zeroshift.specs import RunSpec

pytest.importorskip("clip_benchmark", reason="clip-benchmark is a test-only dependency (uv sync --group dev)")


def test_head_and_accuracy_equal_clip_benchmark(tmp_path, data_root):
    checkpoint = tmp_path / "vit_b_32_seed0.pt"
    torch.save(resolve_model("random:open_clip/ViT-B-32?seed=0").load().module.state_dict(), checkpoint)
    (tmp_path / "templates.json").write_text(json.dumps({"imagenet-r": ["a photo of a {c}."]}))
    (tmp_path / "template.txt").write_text("a photo of a {c}.\n")

    cb_out, cb_clf = tmp_path / "cb.json", tmp_path / "cb_clf.pt"
    command = clip_benchmark_command(
        checkpoint, data_root / "imagenet-r", tmp_path / "templates.json", cb_out, extra=["--save_clf", str(cb_clf)]
    )
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cb_metrics = json.loads(cb_out.read_text())["metrics"]

    runner = Runner(
        RunOptions(data_root=data_root, cache_dir=tmp_path / "cache", batch_size=64, workers=1, bootstrap=0)
    )
    spec = RunSpec.make(f"open_clip:ViT-B-32@{checkpoint}", "imagenet_r", prompts=str(tmp_path / "template.txt"))
    record = runner.run(spec)
    ours_head = runner.inputs(spec).head()

    theirs_head = torch.load(cb_clf, weights_only=True).T  # CLIP_benchmark stores (dim, classes)
    assert ours_head.shape == theirs_head.shape == (200, 512)
    assert torch.allclose(ours_head, theirs_head, atol=1e-5)
    assert record.counts["evaluated"] == 200
    assert record.metric("top1").value == pytest.approx(cb_metrics["acc1"], abs=1e-12)
    assert record.metric("top5").value == pytest.approx(cb_metrics["acc5"], abs=1e-12)
    assert record.metric("mean_per_class_recall").value == pytest.approx(cb_metrics["mean_per_class_recall"], abs=1e-12)
    shutil.rmtree(tmp_path / "cache")
