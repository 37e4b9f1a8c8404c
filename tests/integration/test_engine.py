"""The engine end to end on real photos: caching, resume, bad images, label spaces, provenance."""

import shutil

import numpy as np
import pytest
from PIL import Image

from tests.helpers import build_wnid_layout
from zeroshift.data.info import subset_wnids
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.errors import UsageError
from zeroshift.results.store import Store
from zeroshift.specs import RunSpec


def runner_for(tmp_path, data_root, **kwargs):
    options = {
        "data_root": data_root,
        "cache_dir": tmp_path / "cache",
        "bootstrap": 50,
        "batch_size": 16,
        "workers": 1,
        **kwargs,
    }
    return Runner(RunOptions(**options))


def test_second_prompt_set_encodes_no_images(tmp_path, data_root, tiny_clip):
    runner = runner_for(tmp_path, data_root, store=str(tmp_path / "r.db"))
    first = runner.run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    assert first.counts["encoded"] == 200 and first.counts["from_cache"] == 0
    second = Runner(runner.options).run(RunSpec.make(tiny_clip, "imagenet_r", prompts="openai"))
    assert second.counts["encoded"] == 0 and second.counts["from_cache"] == 200
    assert second.fingerprints["features"] == first.fingerprints["features"]
    assert second.fingerprints["head"] != first.fingerprints["head"]
    assert second.protocol["prompts"]["n_templates"] == 80 and first.protocol["prompts"]["n_templates"] == 1
    assert Store(tmp_path / "r.db").count() == 2


def test_fully_cached_run_never_loads_the_model(tmp_path, data_root, tiny_clip):
    runner_for(tmp_path, data_root).run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    again = runner_for(tmp_path, data_root)
    record = again.run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    assert not again.handle(tiny_clip).loaded
    assert record.counts["encoded"] == 0 and record.model_info["backend"] == "transformers"


def test_interrupted_run_resumes_from_its_last_chunk(tmp_path, data_root, tiny_clip):
    spec = RunSpec.make(tiny_clip, "imagenet_r", prompts="simple")
    runner = runner_for(tmp_path, data_root, chunk_rows=16, batch_size=8)
    model = runner.handle(tiny_clip).load()
    real_encode, calls = model.encode_image, []

    def interrupted(pixels):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt  # Ctrl-C after 4 batches = 32 images, two 16-row chunks written
        return real_encode(pixels)

    model.encode_image = interrupted
    with pytest.raises(KeyboardInterrupt):
        runner.run(spec)
    resumed = runner_for(tmp_path, data_root, chunk_rows=16, batch_size=8).run(spec)
    assert resumed.counts["from_cache"] == 32 and resumed.counts["encoded"] == 168
    fresh = runner_for(tmp_path / "other", data_root).run(spec)
    assert [m.value for m in fresh.metrics] == [m.value for m in resumed.metrics]


def test_limit_then_full_run_reuses_the_subset(tmp_path, data_root, tiny_clip):
    quick = runner_for(tmp_path, data_root, limit=50).run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    assert quick.counts["total"] == 50 and quick.config["limit"] == 50 and quick.protocol["limit"]["n"] == 50
    full = runner_for(tmp_path, data_root).run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    assert full.counts["from_cache"] == 50 and full.counts["encoded"] == 150


def test_label_spaces_and_record_provenance(tmp_path, data_root, tiny_clip):
    runner = runner_for(tmp_path, data_root, save_samples=True, store=str(tmp_path / "r.db"))
    subset = runner.run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    full = runner.run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple", label_space="full"))
    assert subset.label_space == "subset" and full.label_space == "full"
    assert subset.protocol["label_space"]["n_classes"] == 200 and full.protocol["label_space"]["n_classes"] == 1000
    assert full.counts["encoded"] == 0  # the same features, scored over another label space
    assert full.metric("top1").value <= subset.metric("top1").value + 1e-9  # 1000-way is never easier
    for record in (subset, full):
        assert record.provenance["versions"]["torch"] and record.provenance["versions"]["transformers"]
        assert record.provenance["wall_time_s"] > 0 and record.provenance["device"].startswith("cpu")
        assert record.protocol["prompts"]["digest"] and record.protocol["bootstrap"]["n_boot"] == 50
        assert record.protocol["preprocess"]["mean"] and record.fingerprints["model"]
        assert {m.name for m in record.metrics} == {"top1", "top5", "mean_per_class_recall"}
    samples = Store(tmp_path / "r.db").samples(subset.run_id)
    assert len(samples.sample_ids) == 200 and all(len(t) == 5 for t in samples.topk)
    top1 = np.mean([t[0] == label for t, label in zip(samples.topk, samples.labels, strict=True)])
    assert np.isclose(top1, subset.metric("top1").value)


def bad_files(folder):
    """One file of each kind a real dataset contains by accident, in a class folder."""
    good = next(folder.iterdir())
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "readme.jpg").write_text("not an image")
    (folder / "truncated.jpg").write_bytes(good.read_bytes()[:2000])
    Image.new("CMYK", (64, 48), (0, 120, 120, 0)).save(folder / "cmyk.jpg")
    Image.fromarray(np.full((40, 40), 40000, dtype=np.uint16)).save(folder / "deep.png")
    pal = Image.new("P", (40, 40), 1)
    pal.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    pal.save(folder / "palette.png", transparency=0)


def test_bad_images_are_skipped_and_counted_or_fail(tmp_path, tiny_clip):
    root = tmp_path / "data"
    build_wnid_layout(root / "imagenet-r", set(subset_wnids("imagenet_r")[:10]))
    bad_files(next((root / "imagenet-r").iterdir()))
    record = runner_for(tmp_path, root).run(RunSpec.make(tiny_clip, "imagenet_r", prompts="simple"))
    assert record.counts["total"] == 16
    assert record.counts["skipped"] == {"empty file": 1, "not an image": 1, "truncated": 1}
    assert record.counts["evaluated"] == 13
    assert record.counts["converted"]["CMYK->RGB"] == 1 and record.counts["converted"]["I;16->8-bit"] == 1
    assert record.counts["converted"]["P+transparency->RGB"] == 1
    assert any(s.endswith("truncated.jpg") for s in record.counts["skipped_examples"]["truncated"])
    with pytest.raises(UsageError, match=r"bad image .*(empty|readme|truncated).*--on-bad-image skip"):
        runner_for(tmp_path / "fresh", root, on_bad_image="fail").run(
            RunSpec.make(tiny_clip, "imagenet_r", prompts="simple")
        )


def test_fixed_head_classifier_and_label_space_mismatch(tmp_path, data_root):
    record = runner_for(tmp_path, data_root, limit=40).run(RunSpec.make("random:timm/resnet18?seed=0", "imagenet_r"))
    assert record.prompts == "n/a (fixed head)" and record.model_info["kind"] == "fixed_head"
    assert record.protocol["prompts"] is None and record.counts["evaluated"] == 40
    root = tmp_path / "on"
    for i in range(313):
        (root / "objectnet-1.0" / "images" / f"c{i:03d}").mkdir(parents=True)
    shutil.copy(next(data_root.glob("imagenet-r/*/*")), root / "objectnet-1.0" / "images" / "c001" / "a.jpg")
    with pytest.raises(UsageError, match="fixed-head classifier over imagenet1k"):
        runner_for(tmp_path, root).run(RunSpec.make("random:timm/resnet18?seed=0", "objectnet", label_space="native"))


def test_skip_existing_returns_the_stored_record(tmp_path, data_root, tiny_clip):
    store = str(tmp_path / "r.db")
    spec = RunSpec.make(tiny_clip, "imagenet_r", prompts="simple")
    first = runner_for(tmp_path, data_root, store=store, limit=20).run(spec)
    again = runner_for(tmp_path, data_root, store=store, limit=20, skip_existing=True).run(spec)
    assert again.run_id == first.run_id and Store(store).count() == 1
    other = runner_for(tmp_path, data_root, store=store, limit=20, skip_existing=True).run(
        RunSpec.make(tiny_clip, "imagenet_r", prompts="openai")
    )
    assert other.run_id != first.run_id and Store(store).count() == 2  # another prompt set is another condition


def test_skip_existing_never_takes_a_shifted_record_for_the_clean_one(tmp_path):
    store = str(tmp_path / "r.db")
    clean = RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=16)")
    shifted = RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=16)", "corruption(name='fog', severity=5)")
    runner = Runner(RunOptions(cache_dir=tmp_path / "cache", store=store, workers=0, bootstrap=0, skip_existing=True))
    first = runner.run(clean)
    blurred = runner.run(shifted)
    assert runner.run(clean).run_id == first.run_id and runner.run(shifted).run_id == blurred.run_id
    assert Store(store).count() == 2
