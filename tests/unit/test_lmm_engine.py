"""The LMM as a model kind of the engine: its facts, the groups it can serve, the companion relation, the answers
artefact's settings and fingerprint, and suite runs with their own models (issue 14)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from zeroshift.artefacts import kinds
from zeroshift.artefacts.answers import settings
from zeroshift.data import make_benchmark
from zeroshift.engine.condition import check_universe
from zeroshift.engine.plan import plan, servable
from zeroshift.engine.relations import related_spec
from zeroshift.errors import SpecError
from zeroshift.metrics import groups
from zeroshift.models import resolve_model
from zeroshift.models.facts import ModelFacts
from zeroshift.specs import ModelSpec, RunSpec
from zeroshift.suites import SuiteRun

LMM = "lmm:zoo/llava-fw-lm-small"


def facts(kind: str, companion: str | None = None) -> ModelFacts:
    extra = {"companion": companion} if companion else {}
    return ModelFacts(LMM, {}, kind, "transformers", None, 1.0, 0.0, {"extra": extra}, {})


def resolved(*names: str):
    return [(groups.get(n), groups.get(n).resolve({})) for n in names]


def test_an_lmm_scores_from_its_answers_without_encoder_or_text_head():
    lmm = facts("lmm")
    assert (lmm.has_text_head, lmm.has_encoder, lmm.scores_from, lmm.scale, lmm.bias) == (
        False, False, "answers", 1.0, 0.0,
    )  # fmt: skip
    clip = ModelFacts("zoo:x", {}, "zero_shot", "zoo", None, 100.0, 0.0, {}, {})
    assert (clip.has_encoder, clip.scores_from) == (True, "features")


def test_groups_an_lmm_cannot_serve_are_skipped_with_a_note():
    chosen = resolved("accuracy", "calibration", "lmm", "min_epsilon", "ood")  # ood's GL-MCM reads patch embeddings
    kept, notes = servable(chosen, facts("lmm"))
    assert [g.name for g, _ in kept] == ["accuracy", "calibration", "lmm"]
    assert set(notes) == {"min_epsilon", "ood"}
    assert "no image encoder" in notes["ood"] and "local" in notes["ood"]
    kept, notes = servable(chosen, ModelFacts("zoo:x", {}, "zero_shot", "zoo", None, 100.0, 0.0, {}, {}))
    assert len(kept) == len(chosen) and notes == {}


def test_an_lmm_scores_any_label_space_but_a_fixed_head_only_its_universe():
    bench = make_benchmark("factorworld", None)
    space = bench.label_space(bench.label_spaces[0])
    handle = resolve_model("zoo:sup-cnn-tiny")
    check_universe(handle, facts("lmm"), bench, space)  # no universe: the class names are scored
    fixed = ModelFacts("zoo:sup-cnn-tiny", {}, "fixed_head", "zoo", "imagenet1k", 1.0, 0.0, {}, {})
    with pytest.raises(Exception, match="fixed-head classifier over imagenet1k"):
        check_universe(handle, fixed, bench, space)


def condition(companion: str | None):
    spec = RunSpec.make(LMM, "factorworld(n=8)", "corruption(name='fog',severity=3)", "openai", None, 3)
    return SimpleNamespace(spec=spec, facts=facts("lmm", companion), label_space=SimpleNamespace(name="full"))


def test_the_companion_is_the_same_condition_on_the_lmms_own_clip():
    got = related_spec(condition("hf:zoo/clip-hf-vit-diverse"), "companion", {})
    cond = condition(None)
    assert str(got.model) == "hf:zoo/clip-hf-vit-diverse"
    assert (got.benchmark, got.shift, got.label_space, got.seed, got.prompts) == (
        cond.spec.benchmark, cond.spec.shift, "full", 3, "openai",
    )  # fmt: skip
    assert str(related_spec(cond, "companion", {"model": "hf:/x"}).model) == "hf:/x"
    with pytest.raises(SpecError, match="names no companion model"):
        related_spec(cond, "companion", {})


def test_a_suite_run_with_its_own_models_runs_only_on_them():
    runs = [SuiteRun("factorworld", None, None, None), SuiteRun("factorworld(n=8)", None, None, ("lmm",), None, (LMM,))]
    for order in ("model", "benchmark"):
        items = plan(["zoo:sup-cnn-tiny"], runs, order=order)
        pairs = sorted((str(i.spec.model), str(i.spec.benchmark)) for i in items)
        assert pairs == [(LMM, "factorworld(n=8)"), ("zoo:sup-cnn-tiny", "factorworld")]


def scope(options: str = "", universe=("a", "b", "c"), used=(0, 2)):
    space = SimpleNamespace(universe_names=list(universe), used_columns=list(used),
                            fingerprint_data={"digest": repr((universe, used))})  # fmt: skip
    return SimpleNamespace(
        handle=SimpleNamespace(spec=ModelSpec.parse(LMM + options)), label_space=space, precision="fp32",
        pixel_fingerprint=lambda: {"model": "m", "shift": None, "seed": None, "attack_head": None},
        model_fingerprint="m",
    )  # fmt: skip


def test_answers_settings_come_from_the_model_spec_and_enter_the_fingerprint():
    kind = kinds.get("answers")
    params = kind.resolve({})
    chosen = settings(scope(), params)
    assert {k: chosen[k] for k in ("protocol", "question", "normalise", "candidates")} == {
        "protocol": "likelihood", "question": "default", "normalise": "mean", "candidates": "label_space",
    }  # fmt: skip
    assert settings(scope("?normalise=sum"), params)["normalise"] == "sum"
    base = kind.fingerprint(scope(), params)
    summed = kind.fingerprint(scope("?normalise=sum"), params)
    # the normalisation changes the class scores' bank but not the rows they derive from (nothing decoded again)
    assert summed != base and summed["rows"] == base["rows"]
    assert kind.fingerprint(scope(used=(0, 1)), params)["rows"] != base["rows"]
    assert "What is the main object in this image?" in base["rows"]["bank"]["prompt"]
    protocol = kind.protocol(scope(), params, "fp")
    assert protocol["candidates"]["names"] == ["a", "c"] and protocol["normalise"] == "log-likelihood per answer token"
    with pytest.raises(SpecError, match="normalise must be one of"):
        settings(scope("?normalise=max"), params)
    with pytest.raises(SpecError, match="no likelihood question 'nope'"):
        settings(scope("?question=nope"), params)
