"""The contract end to end: a plugin's artefact and group through `zeroshift run`, and read-only commands that
never import torch or a model backend (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zeroshift.data import make_benchmark
from zeroshift.models import resolve_model
from zeroshift.results.store import Store

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("zeroshift")
MODEL = "zoo:sup-cnn-tiny"
BENCH = "factorworld(n=16)"


def zeroshift(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="module")
def plugin_store(tmp_path_factory) -> Path:
    """A store written by `zeroshift run` with the test plugin's metric group (and the accuracy group)."""
    tmp = tmp_path_factory.mktemp("plugin")
    env = {"ZEROSHIFT_PLUGINS": "tests.plugins.mean_colour", "PYTHONPATH": str(REPO), "ZEROSHIFT_CACHE": str(tmp / "c")}
    store = tmp / "results.db"
    common = ["-m", MODEL, "-b", BENCH, "--store", str(store), "--no-progress", "--workers", "0", "--json"]
    first = zeroshift("run", *common, "--metrics", "accuracy", "--metrics", "colour", "--save-samples", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    again = zeroshift("run", *common, "--metrics", "colour", "--bootstrap", "50", env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    return store


def test_a_plugins_artefact_and_group_run_through_the_command_line(plugin_store):
    store = Store(str(plugin_store))
    first, again = store.records()
    red = first.metric("mean_red")
    # the hand computation: the model's geometry on each FactorWorld image, red channel averaged
    dataset = make_benchmark(BENCH, None).dataset()
    geometry = resolve_model(MODEL).load().preprocess.geometry
    expected = [float(geometry(dataset.load(i)[0])[0].mean()) for i in range(len(dataset))]
    assert red.value == pytest.approx(np.mean(expected), abs=1e-6)
    assert np.allclose(store.samples(first.run_id).extra["red"], expected, atol=1e-6)
    assert first.metric("top1") is not None and first.protocol["colour"] == {"kind": "mean_colour"}
    # a second metric on a cached run computes nothing: the kind's rows come from the cache
    assert again.metric("mean_red").value == red.value and again.counts["encoded_total"] == 0


def test_the_plugin_is_refused_clearly_when_it_cannot_be_imported(tmp_path):
    proc = zeroshift("ls", "metrics", env={"ZEROSHIFT_PLUGINS": "no_such_plugin_module"})
    assert proc.returncode == 2 and "cannot import plugin 'no_such_plugin_module'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


CHECK = """
import sys
from zeroshift.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = [m for m in ("torch", "open_clip", "transformers", "timm", "torchvision") if m in sys.modules]
print("@@" + __import__("json").dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    "command",
    [
        ["results"],
        ["results", "--group-by", "family", "--metric", "top1"],
        ["report", "-o", "{tmp}/report.html"],
        ["analyze", "effective-robustness", "--baseline", "store", "--population-filter", "loss=supervised"],
        ["compare", MODEL, MODEL, "-b", BENCH],
    ],
)
def test_read_only_commands_never_import_torch_or_a_backend(plugin_store, tmp_path, command):
    args = [a.format(tmp=tmp_path) for a in command] + ["--store", str(plugin_store)]
    proc = subprocess.run([sys.executable, "-c", CHECK, *args], capture_output=True, text=True, timeout=300)
    line = next(x for x in proc.stdout.splitlines()[::-1] if x.startswith("@@"))
    result = json.loads(line[2:])
    assert result["heavy"] == [], (command, result, proc.stderr[-1000:])
    assert result["code"] in (0, None, 2), proc.stderr[-1000:]  # compare of a model with itself may refuse (code 2)
