"""Sweep plans and the sweep command's refusals: one line, exit code 2, before any work."""

import socket
import time
from pathlib import Path

import pytest

from zeroshift.cli.main import main
from zeroshift.errors import UsageError
from zeroshift.sweep.planfile import CatalogueSelection, parse_plan, read_plan
from zeroshift.sweep.worker import DIE_ENV, die_after


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_plan_reads_models_suites_and_options(tmp_path):
    write(tmp_path / "suites" / "mine.yaml", "runs:\n  - {benchmark: 'factorworld(n=8)'}\n")
    plan = read_plan(
        write(
            tmp_path / "plan.yaml",
            """
models: [zoo:sup-cnn-tiny, zoo:*, {catalogue: {filter: {training_data: LAION-2B}}}]
suites: [suites/mine.yaml, calibration, {suite: ood, benchmarks: [factorworld_ood]}]
prompts: simple
metric_params: ["calibration.n_bins=20"]
limit: 10
seed: 3
""",
        )
    )
    assert plan.models[0] == "zoo:sup-cnn-tiny" and plan.models[1] == "zoo:*"
    assert plan.models[2] == CatalogueSelection({"training_data": "LAION-2B"}, None)
    assert plan.suites[0].suite == str(tmp_path / "suites" / "mine.yaml")  # found next to the plan
    assert plan.suites[2].benchmarks == ("factorworld_ood",)
    assert (plan.prompts, plan.metric_params, plan.limit, plan.seed) == (("simple",), {"calibration": {"n_bins": 20}},
                                                                         10, 3)  # fmt: skip
    assert plan.runs()[0].benchmark == "factorworld(n=8)"
    explicit = parse_plan({"models": ["zoo:sup-cnn-tiny", "zoo:*"], "suites": ["calibration"]}).model_specs()
    assert explicit[0] == "zoo:sup-cnn-tiny" and len(explicit) == len(set(explicit)) > 5  # zoo:* expanded, once each


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"models": ["zoo:x"], "suites": ["calibration"], "modles": 1}, "unknown key 'modles'; did you mean 'models'?"),
        ({"models": [], "suites": ["calibration"]}, "models: expected a non-empty list"),
        ({"models": ["zoo:x"]}, "suites: expected a non-empty list"),
        ({"models": [{"catalogue": {"filters": {}}}], "suites": ["ood"]}, "unknown key 'filters' in a catalogue"),
        ({"models": [{"catalogue": {}}], "suites": ["ood"]}, "a catalogue entry needs a filter or a preset"),
        ({"models": [{"zoo": 1}], "suites": ["ood"]}, "expected a model spec or {catalogue"),
        ({"models": ["zoo:x"], "suites": [{"suite": "ood", "bench": []}]}, "unknown key 'bench' in a suite entry"),
        ({"models": ["zoo:x"], "suites": ["ood"], "limit": 0}, "limit must be an integer of at least 1"),
        ({"models": ["zoo:x"], "suites": ["ood"], "seed": "a"}, "seed must be an integer"),
        ({"models": ["zoo:x"], "suites": ["ood"], "prompts": [1]}, "prompts must be a name or a list of names"),
        ({"models": ["zoo:x"], "suites": ["ood"], "metric_params": {"a": 1}}, "metric_params must map groups"),
        (["zoo:x"], "a plan is a mapping"),
    ],
)
def test_plan_refuses_what_it_does_not_know(data, expected):
    with pytest.raises(UsageError) as err:
        parse_plan(data)
    assert expected in str(err.value) and str(err.value).startswith("plan: ")


def test_catalogue_selection_is_refused_until_the_catalogue_is_installed():
    plan = parse_plan({"models": [{"catalogue": {"filter": {"training_data": "LAION-2B"}}}], "suites": ["ood"]})
    with pytest.raises(UsageError, match="the model catalogue is not installed yet"):
        plan.model_specs()


def test_die_hook_only_on_the_first_attempt_of_the_named_model():
    env = {DIE_ENV: "zoo:a=3"}
    assert die_after("zoo:a", 1, env) == 3
    assert die_after("zoo:a", 2, env) is None and die_after("zoo:b", 1, env) is None and die_after("zoo:a", 1, {}) is None


def sweep_fails(args, capsys, tmp_path):
    """Run `zeroshift sweep ARGS`: the exit code, the stderr lines, and whether anything was written."""
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", *args])
    err = capsys.readouterr().err.strip().splitlines()
    return exit_info.value.code, err


@pytest.fixture
def quiet_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def nothing_written(folder: Path) -> bool:
    return not (folder / "cache").exists() and not list(folder.glob("*.db"))


PLAN = "models: [zoo:sup-cnn-tiny]\nsuites: [{suite}]\n"


def test_unknown_plan_key_is_one_line_and_exit_2(quiet_dirs, capsys):
    plan = write(quiet_dirs / "plan.yaml", PLAN.format(suite="calibration") + "retries: 3\n")
    code, err = sweep_fails([str(plan), "--store", str(quiet_dirs / "r.db")], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("zeroshift: error: plan ") and "unknown key 'retries'" in err[0]
    assert nothing_written(quiet_dirs)


def test_missing_suite_is_one_line_and_exit_2(quiet_dirs, capsys):
    plan = write(quiet_dirs / "plan.yaml", PLAN.format(suite="natural_shift"))
    code, err = sweep_fails([str(plan), "--store", str(quiet_dirs / "r.db")], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1
    assert "unknown suite 'natural_shift'; did you mean 'natural_shifts'?" in err[0] and "plan " in err[0]
    assert nothing_written(quiet_dirs)


def test_catalogue_plan_is_one_line_and_exit_2(quiet_dirs, capsys):
    plan = write(quiet_dirs / "plan.yaml", "models: [{catalogue: {preset: clip_population}}]\nsuites: [ood]\n")
    code, err = sweep_fails([str(plan), "--dry-run"], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1 and "the model catalogue is not installed yet" in err[0]
    assert nothing_written(quiet_dirs)


def test_ray_address_that_does_not_answer_is_one_line_and_exit_2(quiet_dirs, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    plan = write(quiet_dirs / "plan.yaml", PLAN.format(suite="calibration"))
    started = time.perf_counter()
    code, err = sweep_fails([str(plan), "--executor", "ray", "--address", f"127.0.0.1:{port}"], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1, err
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in err[0]
    assert time.perf_counter() - started < 15
    assert nothing_written(quiet_dirs)
    code, err = sweep_fails([str(plan), "--address", f"127.0.0.1:{port}"], capsys, quiet_dirs)
    assert code == 2 and "add --executor ray" in err[0]


def test_bad_plan_item_is_refused_before_any_work(quiet_dirs, capsys):
    suite = write(quiet_dirs / "s.yaml", "runs:\n  - {benchmark: 'factorworld(n=8)', metrics: [acuracy]}\n")
    plan = write(quiet_dirs / "plan.yaml", PLAN.format(suite=suite))
    code, err = sweep_fails([str(plan), "--store", str(quiet_dirs / "r.db")], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1 and "acuracy" in err[0]
    assert not list(quiet_dirs.glob("*.db"))
