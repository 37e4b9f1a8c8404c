"""Calibration and OOD detection end to end on real photos with a random-weight open_clip ViT.

ImageNet photos (one per class, ``imagenet/val/<wnid>/``) are the in-distribution set, the cue-conflict stimuli an
OOD folder; the model is a tiny open_clip ViT with random weights (real open_clip code, seconds to encode).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import tiny_open_clip
from tests.helpers import build_wnid_layout, require_shared
from zeroshift.data.info import subset_wnids
from zeroshift.engine.plan import PlanItem
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.errors import DatasetError
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store
from zeroshift.specs import RunSpec

LIMIT = 24
SCORES = ("msp", "maxlogit", "energy", "mcm", "glmcm")
METRICS = ("auroc", "aupr_in", "aupr_out", "fpr95")
CALIBRATION = ("ece", "ece_adaptive", "mce", "nll", "brier")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tiny_open_clip.register()
    root = tmp_path_factory.mktemp("data")
    build_wnid_layout(root / "imagenet" / "val")
    build_wnid_layout(root / "imagenet-r", set(subset_wnids("imagenet_r")))
    build_wnid_layout(root / "imagenet-o", set(subset_wnids("imagenet_o")))
    cue = require_shared("cue-conflict/cue-conflict")
    options = RunOptions(
        data_root=root,
        cache_dir=tmp_path_factory.mktemp("cache"),
        store=str(tmp_path_factory.mktemp("store") / "results.db"),
        limit=LIMIT,
        bootstrap=100,
        workers=0,
        batch_size=16,
    )
    runner = Runner(options)
    ood = f"ood_folder(path={str(cue)!r}, id='imagenet')"
    first = runner.run(RunSpec.make(tiny_open_clip.TINY_VIT, ood, prompts="simple"))
    return {"runner": runner, "ood": ood, "first": first, "root": root}


def run(env: dict, benchmark: str, metrics: tuple[str, ...] | None = None, **params: dict) -> RunRecord:
    item = PlanItem(RunSpec.make(tiny_open_clip.TINY_VIT, benchmark, prompts="simple"), metrics, params)
    return env["runner"].run(item)


def test_ood_record_holds_every_score_and_metric(env: dict) -> None:
    rec = env["first"]
    names = [m.name for m in rec.metrics]
    assert names == [f"{s}_{m}" for s in SCORES for m in METRICS]
    for m in rec.metrics:
        assert 0.0 <= m.value <= 1.0 and m.ci_low <= m.value <= m.ci_high, m.name
        assert m.details["n_id"] == LIMIT and m.details["n_ood"] == LIMIT
        assert m.higher_is_better == (not m.name.endswith("fpr95"))
    hist = rec.metric("glmcm_auroc").details["histogram"]
    assert sum(hist["id"]) == LIMIT and sum(hist["ood"]) == LIMIT and len(hist["edges"]) == 31
    proto = rec.protocol["ood"]
    assert proto["positive"] == "in-distribution" and proto["orientation"].startswith("higher")
    assert proto["id_benchmark"] == "imagenet" and proto["skipped"] == {} and set(proto["scores"]) == set(SCORES)
    assert proto["params"] == {"energy_temperature": 1.0, "mcm_tau": 1.0, "glmcm_lambda": 1.0}
    # every image was encoded exactly once: the OOD set and the ID set, global and patch embeddings in one pass
    # (the OOD set's own patch embeddings are part of its own pass; the ID set's are a related condition's)
    counts = rec.counts
    assert counts["encoded"] == LIMIT and counts["encoded_total"] == 2 * LIMIT
    assert {(r["benchmark"], r["artefact"]) for r in counts["related"]} == {
        ("imagenet(split='val')", "features"),
        ("imagenet(split='val')", "local"),
    }
    # the record went to the store whole, and reads back with its details
    stored = Store(env["runner"].options.store).records(benchmark=rec.benchmark)[-1]
    assert stored.metric("msp_fpr95").details == json.loads(json.dumps(rec.metric("msp_fpr95").details))


def test_new_scores_temperatures_and_bin_counts_come_from_the_cache(env: dict) -> None:
    env["first"]  # the module fixture encoded everything once
    again = run(
        env,
        env["ood"],
        ("ood",),
        ood={"scores": ("energy", "glmcm"), "energy_temperature": 2.0, "glmcm_lambda": 0.5, "tpr": 0.9},
    )
    assert [m.name for m in again.metrics] == [f"{s}_{m}" for s in ("energy", "glmcm") for m in METRICS]
    assert again.protocol["ood"]["params"]["energy_temperature"] == 2.0 and again.protocol["ood"]["tpr"] == 0.9
    assert again.metric("energy_fpr95").details["tpr"] == 0.9
    assert again.counts["encoded"] == 0 and again.counts["encoded_total"] == 0
    calib = run(env, "imagenet", ("calibration",), calibration={"n_bins": 10, "temperature": 1.7})
    assert calib.counts["encoded_total"] == 0
    assert len(calib.metric("ece").details["bins"]) == 10 and calib.metric("temperature").value == 1.7


def test_calibration_on_the_id_set_and_under_shift_uses_one_temperature(env: dict) -> None:
    clean = run(env, "imagenet", ("accuracy", "calibration"))
    shifted = run(env, "imagenet_r", ("calibration",))
    for rec in (clean, shifted):
        for name in CALIBRATION:
            assert rec.metric(name) is not None and rec.metric(f"{name}_ts") is not None, name
        bins = rec.metric("ece").details["bins"]
        assert len(bins) == 15 and sum(b["count"] for b in bins) == rec.metric("ece").details["n"]
        proto = rec.protocol["calibration"]
        assert proto["n_bins"] == 15 and proto["temperature"]["split"]["seed"] == 0
    t_clean, t_shift = clean.metric("temperature"), shifted.metric("temperature")
    assert t_clean.value == t_shift.value and np.isfinite(t_clean.value)
    assert t_shift.details["id_benchmark"] == "imagenet(split='val')" and not t_shift.details["same_images"]
    split = t_clean.details["split"]
    assert split["fit_size"] == LIMIT // 2 and split["id_size"] == LIMIT
    # on the ID set, T is measured on the other half only; on the shifted set on every sample
    assert clean.metric("ece_ts").details["n"] == LIMIT - split["fit_size"]
    assert shifted.metric("ece_ts").details["n"] == shifted.metric("ece").details["n"] == LIMIT
    assert shifted.protocol["calibration"]["ts_samples"] == "all samples"


def test_imagenet_o_scores_the_id_set_over_its_200_classes(env: dict) -> None:
    rec = run(env, "imagenet_o", None, ood={"scores": ("msp", "mcm", "glmcm")})
    proto = rec.protocol["ood"]
    assert rec.label_space == "subset" and proto["id_rescored_as"] == "subset"
    ctx = env["runner"].resolve(RunSpec.make(tiny_open_clip.TINY_VIT, "imagenet", prompts="simple"))
    wnids = set(subset_wnids("imagenet_o"))
    in_subset = sum(sid.split("/")[0] in wnids for sid in ctx.dataset.sample_ids)
    assert proto["id_samples"] == "classes of the label space" and proto["n_id"] == in_subset > 0
    assert rec.metric("msp_auroc").details["n_ood"] == LIMIT
    assert rec.metric("glmcm_auroc").details["n_id"] == in_subset  # patch cosines rescored over the 200 classes too
    # a second OOD set reuses the in-distribution features and patch embeddings cached by the first
    id_related = [r for r in rec.counts["related"] if r["benchmark"] == "imagenet(split='val')"]
    assert {r["artefact"] for r in id_related} == {"features", "local"}
    assert all(r["encoded"] == 0 and r["from_cache"] == LIMIT for r in id_related)
    # (an ImageNet-O photo that is also in the ImageNet layout, the same file, is a cache hit too)
    assert rec.counts["encoded_total"] == rec.counts["encoded"] == LIMIT - rec.counts["from_cache"]
    everyone = run(env, "imagenet_o", None, ood={"scores": ("msp",), "id_samples": "all"})
    assert everyone.protocol["ood"]["n_id"] == LIMIT and everyone.counts["encoded_total"] == 0


def test_fixed_head_classifiers_get_the_logit_scores_and_say_why_not_the_others(env: dict) -> None:
    runner = env["runner"]
    rec = runner.run(RunSpec.make("random:timm/test_resnet?seed=0", env["ood"]))
    assert [m.name for m in rec.metrics] == [f"{s}_{m}" for s in ("msp", "maxlogit", "energy") for m in METRICS]
    skipped = rec.protocol["ood"]["skipped"]
    assert set(skipped) == {"mcm", "glmcm"} and "cosines" in skipped["mcm"]
    assert rec.counts["encoded_total"] == 2 * LIMIT  # no patch pass for a model without patch embeddings


def test_a_missing_in_distribution_set_is_named(env: dict, tmp_path: Path) -> None:
    runner = Runner(RunOptions(data_root=tmp_path, cache_dir=env["runner"].cache.root, limit=4, workers=0))
    cue = require_shared("cue-conflict/cue-conflict")
    with pytest.raises(DatasetError, match=r"in-distribution set imagenet .*imagenet/val/<wnid>"):
        runner.run(RunSpec.make(tiny_open_clip.TINY_VIT, f"ood_folder(path={str(cue)!r})", prompts="simple"))
    _link_some(env["root"] / "imagenet-r", tmp_path / "imagenet-r")
    with pytest.raises(DatasetError, match=r"held-out split of imagenet .*calibration.temperature"):
        runner.run(PlanItem(RunSpec.make(tiny_open_clip.TINY_VIT, "imagenet_r", prompts="simple"), ("calibration",)))


def _link_some(src: Path, dst: Path, n: int = 4) -> None:
    for folder in sorted(src.iterdir())[:n]:
        (dst / folder.name).mkdir(parents=True)
        for f in folder.iterdir():
            (dst / folder.name / f.name).hardlink_to(f)


def test_cli_mistakes_are_one_line(env: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from zeroshift.cli.main import main

    (tmp_path / "empty").mkdir()
    cases = [
        (["-b", f"ood_folder(path={str(tmp_path / 'empty')!r})"], "no images"),
        (["-b", env["ood"], "--metric-param", "ood.scores=('mcn',)"], "did you mean 'mcm'"),
        (["-b", "imagenet", "--metrics", "ood"], "not an OOD benchmark"),
    ]
    for args, expected in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(
                ["run", "-m", tiny_open_clip.TINY_VIT, "-p", "simple", "--limit", "4", "--workers", "0"]
                + ["--data-root", str(env["root"]), "--store", str(tmp_path / "r.db"), "--no-progress", *args]
            )
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and expected in err and len(err.splitlines()) == 1, err
