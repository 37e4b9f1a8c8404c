"""The command line: the happy path on real photos, and one clear line with exit code 2 for every mistake."""

import csv
import io
import json
import subprocess
import sys

import pytest

from zeroshift.cli.main import main
from zeroshift.results.store import Store


def cli(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps tables to 80 columns when output is captured
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_results_and_cache_commands(capsys, env, data_root, tiny_clip):
    store = str(env / "results.db")
    code, out, err = cli(
        capsys,
        "run",
        "-m",
        tiny_clip,
        "-b",
        "imagenet_r",
        "-p",
        "simple",
        "-p",
        "openai",
        "--data-root",
        str(data_root),
        "--store",
        store,
        "--limit",
        "30",
        "--bootstrap",
        "20",
        "--no-progress",
        "--model-meta",
        "training_data=nothing",
    )
    assert code == 0, err
    assert "imagenet_r" in out and "2 record(s) written" in out
    code, out, _ = cli(capsys, "results", "--store", store, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["prompts"] for r in rows} == {"simple", "openai"}
    assert {r["metric"] for r in rows} == {"top1", "top5", "mean_per_class_recall"}
    code, out, _ = cli(capsys, "results", "--store", store, "--format", "csv", "--metric", "top1")
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 2 and all(0.0 <= float(r["value"]) <= 1.0 for r in table)
    code, out, _ = cli(capsys, "results", "--store", store)
    assert code == 0 and "top1" in out
    code, out, _ = cli(capsys, "cache", "info")
    assert code == 0 and "features" in out
    code, out, _ = cli(capsys, "cache", "clear", "--kind", "heads", "--yes")
    assert code == 0 and "removed 2 bank(s)" in out  # one head per prompt set


def test_json_lines_output(capsys, env, data_root, tiny_clip):
    code, out, err = cli(
        capsys,
        "run",
        "-m",
        tiny_clip,
        "-b",
        "imagenet_r",
        "-p",
        "simple",
        "--data-root",
        str(data_root),
        "--store",
        str(env / "r.db"),
        "--limit",
        "10",
        "--bootstrap",
        "0",
        "--json",
    )
    record = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and record["benchmark"] == "imagenet_r" and record["model_info"]["training_data"] is None


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "--bogus"], "No such option: --bogus"),
        (["run", "-m", "zoo:x"], "give --benchmark"),
        (["run", "-m", "openclip:ViT-B-32@openai", "-b", "imagenet"], "did you mean 'open_clip'"),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenett"], "did you mean 'imagenet'"),
        (
            ["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet_r", "--data-root", "/nowhere"],
            "Expected layout: imagenet-r/<wnid>/*.jpg",
        ),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--on-bad-image", "maybe"], "--on-bad-image"),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--batch-size", "0"], "--batch-size"),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--device", "tpu"], "--device"),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--shift", "fog("], "cannot parse"),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "-p", "fancy"], "unknown prompt set 'fancy'"),
        (
            ["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--metrics", "acuracy"],
            "did you mean 'accuracy'",
        ),
        (["run", "-m", "random:open_clip/ViT-B-32", "-b", "imagenet", "--model-meta", "oops"], "KEY=VALUE"),
        (["run", "-m", "random:open_clip/ViT-B-32", "--suite", "nope"], "unknown suite 'nope'"),
        (["ls", "modelz"], "did you mean 'models'"),
        (["results", "--store", "/nowhere/r.db"], "no results store"),
        (["results", "--format", "xml"], "--format"),
        (["cache", "clear", "--kind", "everything", "--yes"], "--kind"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(capsys, env, data_root, args, fragment):
    code, out, err = cli(capsys, *args)
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("zeroshift: error: ") and fragment in lines[0], err
    assert "Traceback" not in err


def test_wrong_model_name_through_the_real_entry_point(env, data_root):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zeroshift.cli",
            "run",
            "-m",
            "open_clip:ViT-B-33@openai",
            "-b",
            "imagenet_r",
            "--data-root",
            str(data_root),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "zeroshift: error: unknown open_clip architecture 'ViT-B-33'; "
        "did you mean 'ViT-B-32' or 'ViT-S-32' or 'ViT-M-32'?"
    )


@pytest.mark.parametrize("what", ["models", "benchmarks", "shifts", "metrics", "suites", "prompts"])
def test_ls(capsys, what):
    code, out, _ = cli(capsys, "ls", what)
    assert code == 0 and out.strip()


def test_a_suite_with_a_missing_dataset_stops_before_any_work(capsys, env, data_root, tiny_clip):
    store = env / "suite.db"
    code, out, err = cli(
        capsys,
        "run",
        "-m",
        tiny_clip,
        "--suite",
        "natural_shifts",
        "--data-root",
        str(data_root),
        "--store",
        str(store),
        "--no-progress",
    )
    assert code == 2 and "imagenet_v2: no dataset folder" in err and "Expected layout" in err
    assert not (env / "cache" / "features").exists()  # nothing was encoded, not even the datasets that exist
    assert not store.exists()  # and no empty results store was left behind


def test_an_ood_set_whose_in_distribution_set_is_missing_stops_before_any_work(capsys, env, tmp_path):
    store = env / "ood.db"
    code, _, err = cli(
        capsys,
        "run",
        "-m",
        "zoo:sup-cnn-tiny",
        "-b",
        "factorworld_ood(id='imagenet', n=16)",
        "--data-root",
        str(tmp_path / "empty"),
        "--store",
        str(store),
        "--no-progress",
    )
    assert code == 2 and "imagenet: no dataset folder" in err and "Expected layout" in err
    assert not (env / "cache" / "features").exists() and not store.exists()


@pytest.mark.parametrize(
    ("metric", "message"),
    [("ood", "factorworld is not an OOD benchmark"), ("typographic", "needs a typographic shift")],
)
def test_a_metric_group_that_does_not_apply_stops_before_any_work(capsys, env, metric, message):
    store = env / "groups.db"
    code, _, err = cli(
        capsys, "run", "-m", "zoo:sup-cnn-tiny", "-b", "factorworld(n=16)", "--metrics", metric,
        "--store", str(store), "--no-progress",
    )  # fmt: skip
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (env / "cache" / "features").exists() and not store.exists()


def test_suite_runs_without_metrics_get_their_benchmark_defaults(capsys, env, tmp_path):
    # a run's metric groups never leak into the next run of the suite
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "runs:\n"
        "  - {benchmark: 'factorworld(n=24)', metrics: [accuracy, calibration]}\n"
        "  - {benchmark: 'factorworld_ood(n=24, id=\"factorworld(n=24)\")'}\n"
        "  - {benchmark: 'factorworld(n=24)'}\n"
    )
    store = env / "suite.db"
    code, _, err = cli(
        capsys, "run", "-m", "zoo:sup-cnn-tiny", "--suite", str(suite), "--store", str(store), "--no-progress"
    )
    assert code == 0, err
    records = Store(str(store)).records()
    groups = sorted((r.benchmark.split("(")[0], tuple(r.protocol["metric_groups"])) for r in records)
    assert groups == [
        ("factorworld", ("accuracy", "calibration")),
        ("factorworld", ("accuracy", "factor_accuracy")),
        ("factorworld_ood", ("ood",)),
    ]
