"""zeroshift equals CLIP_benchmark on the same checkpoint, data and template (the reference harness).

The checkpoint is open_clip ViT-B-32 with seeded random weights saved with torch.save; the data is an
ImageNet-R-layout folder of the shared real photos of its 200 classes; both sides use one template.
"""

import json
import shutil
import subprocess
from pathlib import Path

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


@pytest.mark.slow
def test_per_sample_logits_and_predictions_equal_clip_benchmark(tmp_path, data_root):
    """CLIP_benchmark's Python API returns its logits (100 * cosine): zeroshift's cosines, logits and decisions on
    the same images must equal them sample by sample, not only in top-1/top-5 (at chance level with random
    weights, a wrong head or a shuffled sample order could still match the counts). It also checks the head and
    the three accuracy figures as CLIP_benchmark's ``evaluate`` computes them, so it can replace the CLI test."""
    from clip_benchmark.datasets.builder import build_dataset
    from clip_benchmark.metrics.zeroshot_classification import accuracy, run_classification, zero_shot_classifier
    from clip_benchmark.models import load_clip
    from sklearn.metrics import balanced_accuracy_score

    from zeroshift.metrics.accuracy import topk_correct

    checkpoint = tmp_path / "vit_b_32_seed0.pt"
    torch.save(resolve_model("random:open_clip/ViT-B-32?seed=0").load().module.state_dict(), checkpoint)
    (tmp_path / "template.txt").write_text("a photo of a {c}.\n")
    root = data_root / "imagenet-r"

    # CLIP_benchmark, in process, fp32: its model loader, dataset builder, head and classification loop
    model, transform, tokenizer = load_clip("open_clip", "ViT-B-32", str(checkpoint), cache_dir=None, device="cpu")
    model.eval()
    dataset = build_dataset("imagenet-r", root=str(root), transform=transform, split="test", download=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=False, num_workers=0)
    head = zero_shot_classifier(model, tokenizer, dataset.classes, ["a photo of a {c}."], "cpu", amp=False)
    theirs, target = run_classification(model, head, loader, "cpu", amp=False)
    theirs_ids = [Path(path).relative_to(root).as_posix() for path, _ in dataset.samples]

    runner = Runner(
        RunOptions(data_root=data_root, cache_dir=tmp_path / "cache", batch_size=64, workers=1, bootstrap=0)
    )
    spec = RunSpec.make(f"open_clip:ViT-B-32@{checkpoint}", "imagenet_r", prompts=str(tmp_path / "template.txt"))
    ours = runner.outputs(spec)
    row = {sid: i for i, sid in enumerate(ours.sample_ids)}
    assert sorted(row) == sorted(theirs_ids) and len(theirs_ids) == 200
    order = torch.as_tensor([row[sid] for sid in theirs_ids])
    cosines, logits = ours.cosines[order].float(), ours.logits[order].float()
    labels = ours.labels[order.numpy()]

    assert (labels == target.numpy()).all()  # the same 200 classes in the same order
    torch.testing.assert_close(100.0 * cosines, theirs, rtol=0, atol=1e-4)  # cosines within 1e-6 (seen: 1e-7)
    torch.testing.assert_close(logits, cosines * ours.logit_scale, rtol=1e-6, atol=1e-5)
    assert torch.equal(cosines.argmax(dim=1), theirs.argmax(dim=1))  # every sample's decision, not only the count
    for k in (1, 5):
        theirs_correct = (theirs.topk(k, dim=1).indices == target[:, None]).any(dim=1).numpy()
        assert (topk_correct(logits, labels, k) == theirs_correct).all(), k

    torch.testing.assert_close(
        runner.inputs(spec).head(), head.T, rtol=0, atol=1e-5
    )  # (classes, dim) vs (dim, classes)
    record = runner.run(spec)  # from the cache: no image is encoded again
    acc1, acc5 = accuracy(theirs, target, topk=(1, 5))  # as CLIP_benchmark's evaluate() reports them
    assert record.metric("top1").value == pytest.approx(acc1, abs=1e-12)
    assert record.metric("top5").value == pytest.approx(acc5, abs=1e-12)
    mpcr = balanced_accuracy_score(target.numpy(), theirs.argmax(dim=1).numpy())
    assert record.metric("mean_per_class_recall").value == pytest.approx(mpcr, abs=1e-12)
    shutil.rmtree(tmp_path / "cache")
