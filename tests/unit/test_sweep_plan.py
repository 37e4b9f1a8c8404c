"""Sweep plans and the sweep command's refusals: one line, exit code 2, before any work."""

import json
import socket
import sys
import time
import types
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


@pytest.fixture
def no_catalogue(monkeypatch):
    """zeroshift.catalogue absent (None in sys.modules: its import raises ModuleNotFoundError)."""
    monkeypatch.setitem(sys.modules, "zeroshift.catalogue", None)


#: a fake catalogue: two LAION-2B CLIP models and a supervised population
FAKE_ROWS = [
    {"spec": "zoo:clip-cnn-diverse", "training_data": "LAION-2B", "kind": "clip"},
    {"spec": "zoo:siglip-cnn-diverse", "training_data": "LAION-2B", "kind": "clip"},
    {"spec": "zoo:sup-cnn-tiny", "training_data": "in1k", "kind": "supervised"},
]


@pytest.fixture
def fake_catalogue(monkeypatch):
    """A stand-in for zeroshift.catalogue with its contract: select_specs(filters, preset) -> specs, UsageError for
    an unknown filter key or preset. Returns the calls it received.
    """
    calls = []

    def select_specs(filters, preset):
        calls.append((dict(filters), preset))
        keys = {k for row in FAKE_ROWS for k in row if k != "spec"}
        for key in filters:
            if key not in keys:
                raise UsageError(f"unknown catalogue filter key {key!r}; known keys: {', '.join(sorted(keys))}")
        if preset not in (None, "supervised_population"):
            raise UsageError(f"unknown catalogue preset {preset!r}")
        rows = [r for r in FAKE_ROWS if preset is None or r["kind"] == "supervised"]
        for key, value in filters.items():
            wanted = value if isinstance(value, list) else [value]
            rows = [r for r in rows if r[key] in wanted]
        return [r["spec"] for r in rows]

    module = types.ModuleType("zeroshift.catalogue")
    module.select_specs = select_specs
    monkeypatch.setitem(sys.modules, "zeroshift.catalogue", module)
    return calls


def test_catalogue_selection_is_refused_when_the_catalogue_is_not_installed(no_catalogue):
    plan = parse_plan({"models": [{"catalogue": {"filter": {"training_data": "LAION-2B"}}}], "suites": ["ood"]})
    with pytest.raises(UsageError, match="the model catalogue is not installed yet") as err:
        plan.model_specs()
    assert str(err.value).startswith("plan: models: ") and "\n" not in str(err.value)


def test_catalogue_selection_expands_through_select_specs(fake_catalogue):
    plan = parse_plan({"models": ["zoo:siglip-cnn-diverse", {"catalogue": {"filter": {"training_data": "LAION-2B"}}},
                                  {"catalogue": {"preset": "supervised_population"}}], "suites": ["ood"]})  # fmt: skip
    # in the plan's order, each model once
    assert plan.model_specs() == ["zoo:siglip-cnn-diverse", "zoo:clip-cnn-diverse", "zoo:sup-cnn-tiny"]
    assert fake_catalogue == [({"training_data": "LAION-2B"}, None), ({}, "supervised_population")]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"filter": {"trainig_data": "LAION-2B"}}, "unknown catalogue filter key 'trainig_data'"),
        ({"preset": "everything"}, "unknown catalogue preset 'everything'"),
        ({"filter": {"training_data": "WIT-400M"}}, "matches no model"),
    ],
)
def test_catalogue_selection_refusals_name_the_plan(fake_catalogue, selection, expected):
    plan = parse_plan({"models": [{"catalogue": selection}], "suites": ["ood"]}, source="plan p.yaml")
    with pytest.raises(UsageError) as err:
        plan.model_specs()
    assert str(err.value).startswith("plan p.yaml: models: ") and expected in str(err.value)


def test_catalogue_import_errors_inside_the_catalogue_are_not_hidden(monkeypatch):
    import importlib.abc

    class Broken(importlib.abc.MetaPathFinder):  # the catalogue exists but one of its own imports fails
        def find_spec(self, name, path=None, target=None):
            if name == "zeroshift.catalogue":
                raise ModuleNotFoundError("No module named 'some_dependency'", name="some_dependency")
            return None

    monkeypatch.delitem(sys.modules, "zeroshift.catalogue", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    plan = parse_plan({"models": [{"catalogue": {"preset": "x"}}], "suites": ["ood"]})
    with pytest.raises(ModuleNotFoundError, match="some_dependency"):
        plan.model_specs()


def test_die_hook_only_on_the_first_attempt_of_the_named_model():
    env = {DIE_ENV: "zoo:a=3"}
    assert die_after("zoo:a", 1, env) == 3
    assert (
        die_after("zoo:a", 2, env) is None and die_after("zoo:b", 1, env) is None and die_after("zoo:a", 1, {}) is None
    )


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


def test_catalogue_plan_is_one_line_and_exit_2(quiet_dirs, capsys, no_catalogue):
    plan = write(quiet_dirs / "plan.yaml", "models: [{catalogue: {preset: clip_population}}]\nsuites: [ood]\n")
    code, err = sweep_fails([str(plan), "--dry-run"], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1 and "the model catalogue is not installed yet" in err[0]
    assert nothing_written(quiet_dirs)


def test_unknown_catalogue_filter_key_is_one_line_and_exit_2(quiet_dirs, capsys, fake_catalogue):
    plan = write(quiet_dirs / "plan.yaml", "models: [{catalogue: {filter: {trainig_data: LAION-2B}}}]\n"
                                           "suites: [calibration]\n")  # fmt: skip
    code, err = sweep_fails([str(plan), "--store", str(quiet_dirs / "r.db")], capsys, quiet_dirs)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("zeroshift: error: plan ") and "unknown catalogue filter key 'trainig_data'" in err[0]
    assert nothing_written(quiet_dirs)


def test_catalogue_selection_in_a_dry_run(quiet_dirs, capsys, fake_catalogue):
    suite = write(quiet_dirs / "s.yaml", "runs:\n  - {benchmark: 'factorworld(n=8)'}\n")
    plan = write(quiet_dirs / "plan.yaml", f"models: [{{catalogue: {{filter: {{training_data: LAION-2B}}}}}}]\n"
                                           f"suites: [{suite}]\nprompts: simple\n")  # fmt: skip
    main(["sweep", str(plan), "--dry-run", "--json", "--store", str(quiet_dirs / "r.db")])
    tasks = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["tasks"]
    assert [(t["model"], t["to_run"], t["images"]) for t in tasks] == [("zoo:clip-cnn-diverse", 1, 8),
                                                                      ("zoo:siglip-cnn-diverse", 1, 8)]  # fmt: skip
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


def test_shipped_example_plan_reads_by_name(quiet_dirs):
    plan = read_plan("example")
    assert plan.source.endswith("plans/example.yaml")
    assert plan.model_specs()[0].startswith("zoo:") and len(plan.runs()) == 3
    with pytest.raises(UsageError, match="no such file; did you mean 'example'"):
        read_plan("exmple")
