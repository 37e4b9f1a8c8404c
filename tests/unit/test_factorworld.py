"""FactorWorld: determinism, content keys, exact factor labels, held-out values, geometry, captions."""

from __future__ import annotations

import numpy as np
import pytest

from zeroshift.data import make_benchmark
from zeroshift.data.factorworld.captions import caption, tokenize, vocabulary
from zeroshift.data.factorworld.photos import photo
from zeroshift.data.factorworld.render import render
from zeroshift.data.factorworld.sampler import sample_params, split_recipe, training_recipe
from zeroshift.data.factorworld.shapes import SHAPES, place
from zeroshift.data.factorworld.world import world
from zeroshift.errors import SpecError
from zeroshift.metrics.group import StandaloneInputs


def test_rendering_is_a_pure_function_of_split_seed_and_index():
    recipe = split_recipe("test")
    a = np.asarray(render(sample_params(recipe, 0, 5)))
    b = np.asarray(render(sample_params(recipe, 0, 5)))
    c = np.asarray(render(sample_params(recipe, 1, 5)))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_content_keys_come_from_generator_and_params_not_files():
    data = make_benchmark("factorworld(n=20)", None).dataset()
    again = make_benchmark("factorworld(n=20)", None).dataset()
    other_seed = make_benchmark("factorworld(n=20, seed=1)", None).dataset()
    keys = data.content_keys()
    assert keys == again.content_keys()
    assert len(set(keys)) == 20
    assert not set(keys) & set(other_seed.content_keys())
    assert all(k.startswith(f"factorworld/w{world().version}.") for k in keys)
    # a --limit subset keeps each sample's key, parameters and pixels
    sub = data.subset([3, 7])
    assert sub.content_keys() == [keys[3], keys[7]]
    assert np.array_equal(np.asarray(sub.load(1)[0]), np.asarray(data.load(7)[0]))


def test_clean_test_split_holds_no_held_out_level():
    w = world()
    data = make_benchmark("factorworld(n=400)", None).dataset()
    assert not set(data.meta["style"]) & set(w.held_out["style"])
    assert not set(data.meta["background"]) & set(w.held_out["background"])
    for shape, colour in zip(data.meta["shape"], data.meta["colour"], strict=True):
        assert colour not in w.held_out_colours(shape)
    # classes are balanced and targets index the class list
    assert np.bincount(data.targets, minlength=16).tolist() == [25] * 16
    assert [data.classes[t] for t in data.targets] == data.meta["shape"]


@pytest.mark.parametrize(
    ("benchmark", "column", "allowed"),
    [
        ("factorworld_sketch", "style", {"sketch"}),
        ("factorworld_rendition", "style", {"stipple"}),
        ("factorworld_backgrounds", "background", {"photo"}),
    ],
)
def test_held_out_shift_splits_set_their_factor(benchmark, column, allowed):
    data = make_benchmark(f"{benchmark}(n=48)", None).dataset()
    assert set(data.meta[column]) == allowed


def test_combos_split_uses_only_held_out_colour_shape_pairs():
    w = world()
    data = make_benchmark("factorworld_combos(n=64)", None).dataset()
    for shape, colour in zip(data.meta["shape"], data.meta["colour"], strict=True):
        assert colour in w.held_out_colours(shape)


def test_factors_split_varies_one_factor_per_sample_over_every_level():
    w = world()
    data = make_benchmark("factorworld_factors(n=600)", None).dataset()
    seen: dict[str, set] = {}
    for i, factor in enumerate(data.meta["varied"]):
        seen.setdefault(factor, set()).add(data.meta[factor][i])
    assert set(seen) == set(split_recipe("factors").vary_one)
    assert seen["style"] == set(w.factors["style"])
    assert seen["background"] == set(w.factors["background"])
    assert seen["colour"] == set(w.colours)
    # every other factor stays in the narrow distribution, e.g. no sketch unless style is the varied factor
    for i, factor in enumerate(data.meta["varied"]):
        if factor != "style":
            assert data.meta["style"][i] == "filled"


def test_cue_conflict_puts_another_class_pattern_and_colour_on_each_shape():
    w = world()
    bench = make_benchmark("factorworld_cue_conflict", None)
    data = bench.dataset()
    pairs = set(zip(data.meta["shape_label"], data.meta["texture_label"], strict=True))
    assert len(pairs) == 16 * 15  # every ordered pair of different classes
    for i in range(0, len(data), 37):
        params = data.params[i]
        texture = data.meta["texture_label"][i]
        assert texture != data.meta["shape_label"][i]
        assert params["obj"]["pattern"] == w.signature_pattern(texture)
        assert params["factors"]["colour"] in w.typical_colours(texture)


def test_typographic_split_writes_a_wrong_class_name():
    data = make_benchmark("factorworld_typographic(n=40)", None).dataset()
    assert all(word != shape for word, shape in zip(data.meta["word"], data.meta["shape"], strict=True))
    assert set(data.meta["word"]) <= set(world().classes)


def test_ood_split_is_unlabelled_and_outside_the_classes():
    bench = make_benchmark("factorworld_ood(n=20)", None)
    data = bench.dataset()
    assert not bench.labelled
    assert (data.targets == -1).all()
    assert set(data.meta["shape"]) == set(world().ood_classes)
    assert not set(data.meta["shape"]) & set(world().classes)


def test_filled_shape_covers_its_polygon_area():
    """A solid filled shape on a plain background, normal light: object-coloured pixels = polygon area."""
    w = world()
    params = sample_params(split_recipe("test"), 0, 0)
    params["obj"].update(shape="square", cx=0.5, cy=0.5, r=0.3, angle=0.0, pattern=None, rgb=[220, 20, 20])
    params.update(bg={"kind": "plain", "colour": "white", "rgb": [250, 250, 250]}, extras=[], occluder=None,
                  word=None, light={"kind": "normal"})  # fmt: skip
    params["factors"]["style"] = "filled"
    img = np.asarray(render(params)).astype(float)
    red = (np.abs(img - [220, 20, 20]).sum(axis=2) < 60).sum()
    poly = place("square", 32, 32, 0.3 * 64, 0.0)
    x, y = poly[:, 0], poly[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    assert abs(red - area) / area < 0.08
    assert w.image_size == 64


def test_every_shape_is_a_unit_polygon():
    for name in SHAPES:
        poly = place(name, 0, 0, 1, 0)
        assert np.isclose(np.sqrt((poly**2).sum(1)).max(), 1.0)
        assert len(poly) >= 3


def test_background_photos_are_bundled_with_scikit_image():
    w = world()
    for name in w.raw["texture_photos"] + w.raw["scene_photos"]:
        img = photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) <= 256


def test_captions_name_the_shape_in_varied_words_from_the_vocabulary():
    vocab = set(vocabulary())
    rng = np.random.default_rng(0)
    recipe = training_recipe("diverse")
    for i in range(60):
        params = sample_params(recipe, 0, i)
        text = caption(params, rng)
        words = tokenize(text)
        assert params["shape"] in words
        assert set(words) <= vocab, set(words) - vocab
    one = sample_params(recipe, 0, 0)
    assert len({caption(one, rng) for _ in range(30)}) > 10
    # held-out levels have no words: a model trained on these captions never read "sketch"
    assert "sketch" not in vocab and "stippled" not in vocab
    assert not set(world().ood_classes) & vocab


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(SpecError, match="n must be"):
        make_benchmark("factorworld(n=0)", None)
    with pytest.raises(SpecError, match="unknown parameter"):
        make_benchmark("factorworld(split='x')", None)
    with pytest.raises(SpecError, match="no distribution"):
        training_recipe("web")


def test_texture_labels_are_exact():
    w = world()
    data = make_benchmark("factorworld_factors(n=900)", None).dataset()
    for i, p in enumerate(data.params):
        texture, pattern = data.meta["texture"][i], p["obj"]["pattern"]
        if texture == "signature":
            assert pattern == w.signature_pattern(p["shape"])
        elif texture == "solid":
            assert pattern is None
        elif texture == "other":
            assert pattern is not None and pattern != w.signature_pattern(p["shape"])
        else:
            assert texture is None and data.meta["style"][i] in ("outline", "sketch")


def test_cue_conflict_texture_class_feeds_the_shape_bias_group():
    import torch

    from zeroshift.core.outputs import Outputs
    from zeroshift.metrics.shape_bias import shape_bias_group

    bench = make_benchmark("factorworld_cue_conflict(n=64)", None)
    data = bench.dataset()
    classes = world().classes
    assert data.meta["texture_class"] == [classes.index(t) for t in data.meta["texture_label"]]
    assert "shape_bias" in bench.metric_groups

    def bias(decisions):
        logits = torch.zeros(len(data), 16)
        logits[torch.arange(len(data)), torch.as_tensor(decisions)] = 1.0
        out = Outputs(data.sample_ids, data.targets, logits, None, bench.label_space(), meta=data.meta)
        inputs = StandaloneInputs(out, benchmark=bench)
        return {m.name: m.value for m in shape_bias_group(out, inputs, n_boot=50)}["shape_bias"]

    textures = np.asarray(data.meta["texture_class"])
    assert bias(data.targets) == 1.0  # always the shape
    assert bias(textures) == 0.0  # always the texture
    half = np.where(np.arange(len(data)) % 2 == 0, data.targets, textures)
    assert bias(half) == pytest.approx(0.5)


def test_ood_split_is_scored_against_its_in_distribution_split():
    bench = make_benchmark("factorworld_ood(n=20)", None)
    assert bench.metric_groups == ("ood",)
    assert bench.in_distribution == "factorworld"
    assert bench.id_benchmark().canonical == "factorworld(n=1000, seed=0)" and bench.id_benchmark().labelled
    assert make_benchmark("factorworld_ood(id='factorworld(n=50)')", None).id_benchmark().params["n"] == 50
    with pytest.raises(SpecError, match="in-distribution set must be a labelled benchmark"):
        make_benchmark("factorworld_ood(id='factorworld_ood')", None)


def test_held_out_shifts_name_the_clean_split_as_in_distribution():
    for name in ("factorworld_sketch", "factorworld_rendition", "factorworld_backgrounds", "factorworld_combos"):
        condition = make_benchmark(name, None).condition()
        assert condition["in_distribution"] == "factorworld(n=1000, seed=0)" and condition["kind"] == "natural_shift"
        # effective robustness on FactorWorld shifts: the supervised zoo classifiers are the baseline population
        assert condition["training_set"] == "FactorWorld-narrow"
    clean = make_benchmark("factorworld", None).condition()
    assert clean["in_distribution"] is None and clean["kind"] == "in_distribution"
    assert make_benchmark("imagenet_sketch", None).condition()["training_set"] == "ImageNet-1k"
