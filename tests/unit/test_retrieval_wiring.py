"""How retrieval is wired into the contract (issue 12): text shifts leave the image cache key clean, the planner
skips fixed heads on a retrieval set with a note, the classification variant of the gap through the engine, the
groups' checks, and the report section."""

from __future__ import annotations

import numpy as np
import pytest

from zeroshift.engine.plan import drop_unsupported, plan
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.errors import UsageError
from zeroshift.metrics import groups
from zeroshift.metrics.group import StandaloneInputs
from zeroshift.specs import RunSpec
from zeroshift.suites import SuiteRun

CLIP = "zoo:clip-cnn-diverse-small"


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Runner:
    cache = tmp_path_factory.mktemp("cache")
    return Runner(RunOptions(store=None, cache_dir=str(cache), workers=0, progress=False, bootstrap=20))


def test_a_text_shift_keys_its_images_as_the_clean_condition(runner):
    bench = "factorworld_retrieval(n=4)"
    clean = runner.resolve(RunSpec.make(CLIP, bench))
    typos = runner.resolve(RunSpec.make(CLIP, bench, "typos(rate=0.1)"))
    fog = runner.resolve(RunSpec.make(CLIP, bench, "corruption(name='fog', severity=3)"))
    assert typos.pixel_fingerprint() == clean.pixel_fingerprint() != fog.pixel_fingerprint()
    assert typos.describe()["kind"] == "text" and typos.describe()["shift"] == "typos"


def test_the_planner_skips_fixed_heads_on_a_retrieval_set_with_one_note(runner):
    runs = [SuiteRun("factorworld_retrieval(n=4)", s, None, None) for s in (None, "typos(rate=0.1)")]
    runs.append(SuiteRun("factorworld(n=4)", None, None, None))
    items = plan(["zoo:sup-cnn-tiny", CLIP], runs, facts=runner.model_facts)
    items, skipped = drop_unsupported(items, runner.resolve, 0)
    chosen = [(str(i.spec.model), i.spec.benchmark.name, i.spec.shift and i.spec.shift.name) for i in items]
    assert chosen == [
        ("zoo:sup-cnn-tiny", "factorworld", None),
        (CLIP, "factorworld_retrieval", None),
        (CLIP, "factorworld_retrieval", "typos"),
        (CLIP, "factorworld", None),
    ]
    assert len(skipped) == 1 and skipped[0].startswith("skipped zoo:sup-cnn-tiny on factorworld_retrieval(")
    assert skipped[0].endswith("retrieval: no text encoder (a fixed-head classifier)")
    # without the planner's skip (the Python API), the run is refused when it is checked, before any work
    with pytest.raises(UsageError, match="no text encoder"):
        runner.check(RunSpec.make("zoo:sup-cnn-tiny", "factorworld_retrieval(n=4)"))


def test_the_classification_gap_is_the_distance_of_the_image_and_class_row_centroids(runner):
    inputs = runner.inputs(RunSpec.make(CLIP, "factorworld(n=24)"))
    group = groups.get("modality_gap")
    result = group.evaluate(inputs, group.resolve({"n_boot": 0}))
    values = {v.name: v.value for v in result.values}
    # by hand: unit image embeddings, the text head (one row per class), each image's class row
    images = inputs.artefact("features").rows.double().numpy()
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    head = inputs.head().double().numpy()
    labels = inputs.outputs.labels
    assert values["gap_distance"] == pytest.approx(np.linalg.norm(images.mean(0) - head.mean(0)), abs=1e-5)
    assert values["matched_cosine"] == pytest.approx(np.mean(np.sum(images * head[labels], axis=1)), abs=1e-5)
    assert result.protocol["modality_gap"]["variant"].startswith("classification")
    assert len(result.columns["gap_matched_cosine"]) == 24


def test_retrieval_on_a_set_without_captions_is_refused_before_any_work(runner):
    with pytest.raises(UsageError, match="needs a captioned set"):
        groups.get("retrieval").applies(runner.resolve(RunSpec.make(CLIP, "factorworld(n=4)")).benchmark, None)
    with pytest.raises(UsageError, match="typos is a text shift"):
        runner.check(RunSpec.make(CLIP, "factorworld(n=4)", "typos(rate=0.1)"))
    with pytest.raises(UsageError, match="neither"):
        groups.get("modality_gap").applies(runner.resolve(RunSpec.make(CLIP, "factorworld_ood(n=4)")).benchmark, None)


def test_a_group_reads_text_rows_outside_a_run_from_standalone_inputs():
    rows = {"a cat": [1.0, 0.0], "a dog": [0.0, 1.0]}
    inputs = StandaloneInputs(None, artefacts={"captions": lambda keys: np.asarray([rows[k] for k in keys])})
    assert inputs.texts("captions", ["a dog", "a cat"]).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(UsageError, match="not available outside a run"):
        inputs.texts("heads", ["a cat"])
