"""The planner skips models that cannot serve a metric group (``model_check``), one note per model and reason."""

from __future__ import annotations

from types import SimpleNamespace

from zeroshift.data import make_benchmark
from zeroshift.engine.plan import PlanItem, drop_unsupported
from zeroshift.metrics import groups
from zeroshift.models.facts import ModelFacts
from zeroshift.specs import RunSpec


def test_the_planner_skips_a_model_without_dense_features_with_one_note():
    facts = {
        "zoo:dense": ModelFacts("zoo:dense", {}, "zero_shot", "zoo", None, 1.0, 0.0, {}, {},
                                dense={"n_layers": 2, "layers_are": "blocks"}),
        "zoo:flat": ModelFacts("zoo:flat", {}, "zero_shot", "zoo", None, 1.0, 0.0, {}, {}, dense=None),
    }  # fmt: skip
    bench = make_benchmark("factorworld_pairs(n=2)", None)

    def resolve(spec):
        return SimpleNamespace(benchmark=bench, shift=None, facts=facts[spec.model.canonical])

    items = [PlanItem(RunSpec.make(m, "factorworld_pairs(n=2)")) for m in ("zoo:dense", "zoo:flat", "zoo:flat")]
    kept, notes = drop_unsupported(items, resolve, 0)
    assert [str(i.spec.model) for i in kept] == ["zoo:dense"]
    assert len(notes) == 1 and notes[0].startswith("skipped zoo:flat on factorworld_pairs(n=2): correspondence")
    assert "no dense features" in notes[0]
    # a layer beyond the model's blocks is a reason too
    deep = [PlanItem(RunSpec.make("zoo:dense", "factorworld_pairs(n=2)"), None, {"correspondence": {"layer": -3}})]
    assert "layer -3 does not exist" in drop_unsupported(deep, resolve, 0)[1][0]
    assert (
        groups.get("correspondence").unsupported(facts["zoo:dense"], groups.get("correspondence").resolve({})) is None
    )
