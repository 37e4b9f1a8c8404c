"""`zeroshift demo --quick` as a user runs it first: the installed command, a fresh cache, no network."""

from __future__ import annotations

import json
from pathlib import Path

from zeroshift.data import make_benchmark
from zeroshift.demo import demo_plan, run_demo
from zeroshift.results.store import Store
from zeroshift.shifts import make_shift
from zeroshift.specs import CallSpec


def test_quick_demo_runs_offline_from_a_fresh_environment(quick_demo):
    out, proc = quick_demo
    printed = proc.stdout.replace("\n", "")
    assert str(out / "results.db") in printed and str(out / "report.html") in printed
    assert (out / "report.html").is_file()
    plan = demo_plan(quick=True)
    store = Store(str(out / "results.db"))
    records = store.records()
    assert len(records) == store.count() > 0
    step_models = {m for run in plan.runs for m in run.models or ()}  # the LLaVAs run only the steps naming them
    assert step_models and {r.model for r in records} == set(plan.models) | step_models
    assert {(r.benchmark, r.shift) for r in records} == {
        (make_benchmark(run.benchmark, None).canonical, run.shift and make_shift(run.shift).canonical)
        for run in plan.runs
    }
    # every capability ran: held-out shifts, corruptions, typographic and adversarial attacks, calibration, OOD,
    # shape bias, the factor breakdown
    shifts = {CallSpec.parse(r.shift).name for r in records if r.shift}
    assert shifts == {"corruption", "corruption3d", "typographic", "pgd", "typos"}
    names = {m.name for r in records for m in r.metrics}
    for metric in ("ece_ts", "msp_auroc", "shape_bias", "attack_success_rate", "min_epsilon_median"):
        assert metric in names, metric
    assert any(n.startswith("top1[style=") for n in names)
    # the LLaVAs next to their tower: one lmm record per LLaVA and step, against the tower named in their metadata
    lmm = [r for r in records if r.model in step_models]
    assert len(lmm) == len(step_models) * sum(1 for run in plan.runs if run.models)
    assert all(r.metric("lmm_gain") is not None for r in lmm)
    assert {r.protocol["lmm"]["companion"]["model"] for r in lmm} == {"hf:zoo/clip-hf-vit-diverse"}
    # the quick plan evaluates a seeded subset; fixed-head models run once per benchmark, CLIP models per prompt set
    assert all(r.counts["total"] == min(plan.limit, r.counts["total"]) for r in records)
    clean = [r for r in records if r.benchmark.startswith("factorworld(n=1000") and r.shift is None]
    assert {r.prompts for r in clean if r.model_info["kind"] == "zero_shot"} == {"openai", "simple"}
    assert all(r.counts["total"] == plan.limit for r in clean)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and len(summary["rows"]) == len(records)
    # the headline table: the CLIP model's clean accuracy is its record's, and the held-out sketch style costs it
    clip = summary["headline"]["zoo:clip-cnn-diverse"]
    openai_clean = next(r for r in clean if r.model == "zoo:clip-cnn-diverse" and r.prompts == "openai")
    assert clip["clean"] == openai_clean.metric("top1").value
    assert clip["sketch"] < clip["clean"]
    assert not (out.parent / "zeroshift-results.db").exists()  # nothing written outside --out and the cache


def test_running_the_demo_again_reuses_its_records(quick_demo):
    out, _ = quick_demo
    store = Store(str(out / "results.db"))
    before = {r.run_id for r in store.records()}
    again = run_demo(out, quick=True, progress=False, cache_dir=out.parent / "fresh-cache")
    assert {r.run_id for r in again.records} == before  # every condition came back from the store
    assert Store(str(out / "results.db")).count() == len(before)  # and nothing was written twice


def test_quick_demo_numbers_equal_the_snapshot(quick_demo):
    """Every metric value, interval and scalar detail of the quick demo, field by field, to 1e-9.

    The snapshot was taken before the contract redesign (issue 10), which changed no number, and updated once for
    issue 11's intended changes only: FPR@95 at the reference operating point, MCM with its papers' single template,
    and the lower (order-statistic) median of minimal epsilons (30 fields; nothing else moved); then extended with the
    records of the new perspectives (retrieval, 3D corruptions, correspondence, overlap), every earlier record
    unchanged; then for the zoo LLaVAs (their six records added) and the 3D corruptions moved from
    ``factorworld(n=64)`` to ``factorworld(n=100)`` (four records re-keyed), and the per-factor top-1 no longer
    computed on that 100-image split and its corruptions (3840 per-factor values gone), nothing else moved.
    Regenerate it with ``python -m tests.snapshot STORE tests/data/demo_quick_snapshot.json.gz`` only for a change
    meant to move numbers.
    """
    from tests.snapshot import compare, load, snapshot

    out, _ = quick_demo
    before = load(str(Path(__file__).parents[1] / "data" / "demo_quick_snapshot.json.gz"))
    problems = compare(before, snapshot(Store(str(out / "results.db")).records()))
    assert not problems, f"{len(problems)} differences, e.g.:\n" + "\n".join(problems[:20])
