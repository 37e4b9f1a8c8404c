"""Shape bias: the metric equals a hand count, the cue-conflict benchmarks read the shared stimuli with their
texture classes, and the human reference from the shared response files matches the published ~0.96."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from tests.helpers import require_shared
from zeroshift.core.outputs import Outputs
from zeroshift.data.cue_conflict import CueConflict, Edges, Silhouettes, parse_cue_conflict_name
from zeroshift.data.info import sixteen_class
from zeroshift.errors import DatasetError
from zeroshift.metrics.group import StandaloneInputs
from zeroshift.metrics.shape_bias import shape_bias_group, shape_texture_counts
from zeroshift.reports.shape_bias import human_reference, texture_of_imagename

# A hand-made decision table over the first four categories 0=airplane, 1=bear, 2=bicycle, 3=bird:
#   shape texture decision   counts as
DECISIONS = [
    (0, 1, 0),  # shape
    (0, 1, 1),  # texture
    (0, 2, 3),  # neither
    (1, 0, 1),  # shape
    (1, 2, 1),  # shape
    (1, 3, 3),  # texture
    (2, 2, 2),  # shape == texture: not a conflict image, ignored
    (3, 3, 0),  # ignored
    (2, 0, 2),  # shape
    (3, 1, 2),  # neither
]
# by hand: 8 conflict images, shape 4, texture 2 -> shape bias 4 / 6


def test_shape_bias_of_a_hand_made_table_equals_the_hand_count():
    shapes, textures, decisions = (np.array(c) for c in zip(*DECISIONS, strict=True))
    counts = shape_texture_counts(decisions, shapes, textures)
    assert (counts.n, counts.shape, counts.texture) == (8, 4, 2)
    assert counts.shape_bias == pytest.approx(4 / 6)
    assert counts.shape_match == pytest.approx(4 / 8) and counts.texture_match == pytest.approx(2 / 8)


def test_shape_bias_group_reads_decisions_from_scores_and_texture_from_meta():
    space = CueConflict(None).label_space("native")
    shapes, textures, decisions = (list(c) for c in zip(*DECISIONS, strict=True))
    logits = torch.full((len(DECISIONS), 16), -5.0)
    logits[torch.arange(len(DECISIONS)), torch.tensor(decisions)] = 3.0
    outputs = Outputs(
        [f"s{i}" for i in range(len(DECISIONS))], np.array(shapes), logits, None, space, meta={"texture": textures}
    )
    result = shape_bias_group.evaluate(StandaloneInputs(outputs), shape_bias_group.resolve({"n_boot": 200}))
    saved = result.columns
    values = {m.name: m for m in result.values}
    bias = values["shape_bias"]
    assert bias.value == pytest.approx(4 / 6)
    assert bias.ci_low <= bias.value <= bias.ci_high
    assert values["shape_match"].value == pytest.approx(0.5)
    assert values["texture_match"].value == pytest.approx(0.25) and not values["texture_match"].higher_is_better
    per = bias.details["per_category"]
    # by shape category: airplane 1 shape / 1 texture, bear 2 / 1, bicycle 1 / 0, bird 0 / 0 (one conflict, neither)
    assert per["airplane"]["shape_bias"] == pytest.approx(0.5)
    assert per["bear"]["shape_bias"] == pytest.approx(2 / 3)
    assert per["bicycle"]["shape_bias"] == pytest.approx(1.0)
    assert np.isnan(per["bird"]["shape_bias"]) and per["bird"]["n"] == 1
    assert saved["texture"] == textures
    # no texture column (edges, silhouettes): nothing to compute
    assert shape_bias_group(Outputs([], np.array([]), torch.empty(0, 16), None, space), None) == []


def test_human_shape_bias_from_the_shared_response_files():
    folder = require_shared("human-responses")
    ref = human_reference(folder)
    print(
        f"human shape bias: {ref.shape_bias:.4f} pooled over {ref.counts['n']} conflict trials of "
        f"{ref.n_subjects} observers (mean of observers {ref.shape_bias_subject_mean:.4f}); "
        f"edges accuracy {ref.accuracy['edges']:.3f}, silhouettes accuracy {ref.accuracy['silhouettes']:.3f}"
    )
    assert 0.94 <= ref.shape_bias <= 0.98  # Geirhos et al. 2019 report 0.96 (95.9%)
    assert 0.94 <= ref.shape_bias_subject_mean <= 0.98
    assert ref.n_subjects == 10 and ref.counts["n"] == 10 * 1200
    assert all(v > 0.9 for v in ref.per_subject.values())
    assert set(ref.per_category) == set(sixteen_class())
    assert 0.6 < ref.accuracy["edges"] < 1 and 0.6 < ref.accuracy["silhouettes"] < 1


def test_human_reference_matches_an_independent_count_of_one_subject():
    folder = require_shared("human-responses") / "cue-conflict"
    path = sorted(folder.glob("*.csv"))[0]
    shape = texture = 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            name = row["imagename"].split("_")[-1].removesuffix(".png")
            tex = name.split("-")[1].rstrip("0123456789")
            if tex == row["category"]:
                continue
            shape += row["object_response"] == row["category"]
            texture += row["object_response"] == tex
    ref = human_reference(folder.parent)
    subject = next(iter(sorted(ref.per_subject)))
    assert ref.per_subject[subject] == pytest.approx(shape / (shape + texture))


def test_texture_of_imagename_follows_model_vs_human():
    assert texture_of_imagename("0003_s5n_s01_0_dog_00_dog10-bicycle1.png") == "bicycle"
    assert texture_of_imagename("bird3-bird2.png") == "bird"
    assert parse_cue_conflict_name("0001_s5n_s01_0_bird_00_bird3-bird2.png") == ("bird", "bird")
    assert parse_cue_conflict_name("airplane1.png") is None


def test_shipped_sixteen_class_mapping_equals_the_shared_one():
    shared = json.loads((require_shared("cue-conflict") / "sixteen_class_to_imagenet.json").read_text())
    ours = sixteen_class()
    assert set(ours) == set(shared)
    for name, indices in ours.items():
        assert sorted(indices) == sorted(shared[name]["imagenet_indices"])
    assert sum(len(v) for v in ours.values()) == 207


def test_cue_conflict_benchmarks_read_the_shared_stimuli():
    root = require_shared()
    require_shared("cue-conflict")
    dataset = CueConflict(root).dataset()
    assert len(dataset) == 1280 and dataset.classes == list(sixteen_class())
    with open(root / "cue-conflict" / "manifest.csv", newline="") as f:
        manifest = {r["file"].removeprefix("cue-conflict/"): r for r in csv.DictReader(f) if r["set"] == "cue-conflict"}
    textures = dataset.meta["texture"]
    for i, sid in enumerate(dataset.sample_ids):
        assert dataset.classes[dataset.targets[i]] == manifest[sid]["shape_label"]
        assert dataset.classes[textures[i]] == manifest[sid]["texture_label"]
    assert sum(int(dataset.targets[i]) == textures[i] for i in range(len(dataset))) == 80
    # --limit keeps the texture column aligned
    sub = dataset.subset([5, 700])
    assert sub.meta["texture"] == [textures[5], textures[700]]
    assert len(Edges(root).dataset()) == 160 and "texture" not in Edges(root).dataset().meta
    assert len(Silhouettes(root).dataset()) == 160


def test_label_spaces_map_1000_classes_by_mean_probability_or_use_the_names():
    bench = CueConflict(None)
    mapped, native = bench.label_space("mapped"), bench.label_space("native")
    assert mapped.reduce == "mean_prob" and mapped.universe == "imagenet1k"
    assert sorted(c for g in mapped.columns for c in g) == sorted(c for v in sixteen_class().values() for c in v)
    assert native.universe == "sixteen_class" and native.universe_names == native.class_names
    # the mean probability over a category's classes decides: 'bear' has 4 classes, 'airplane' 1
    logits = torch.full((1, 1000), -10.0)
    logits[0, list(sixteen_class()["bear"])] = 2.0
    logits[0, sixteen_class()["airplane"][0]] = 2.5
    scores = mapped.class_scores(logits, used_only=False)
    assert mapped.class_names[int(scores.argmax())] == "airplane"
    probs = torch.softmax(logits, 1)[0]
    bear = mapped.class_names.index("bear")
    assert float(scores[0, bear].exp()) == pytest.approx(float(probs[list(sixteen_class()["bear"])].mean()), rel=1e-5)


def test_malformed_cue_conflict_names_and_missing_folders_are_one_line_errors(tmp_path):
    folder = tmp_path / "cue-conflict" / "cue-conflict" / "cat"
    folder.mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(folder / "cat1-dog2.png")
    Image.new("RGB", (8, 8)).save(folder / "dog1-cat2.png")
    with pytest.raises(DatasetError, match=r"not <cat>N-<texture>M.png \('dog1-cat2.png'\)"):
        CueConflict(tmp_path).dataset()
    (folder / "dog1-cat2.png").unlink()
    dataset = CueConflict(tmp_path).dataset()
    assert dataset.meta["texture"] == [list(sixteen_class()).index("dog")]
    with pytest.raises(DatasetError, match="Expected layout: cue-conflict/edges"):
        Edges(tmp_path).dataset()
