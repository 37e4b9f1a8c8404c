"""A sweep whose driver is killed (SIGKILL to the driver and its worker processes, as when a machine goes down)
resumes from the store and the artefact cache: no record lost, none twice, none half written, nothing encoded again.

The driver runs as `zeroshift sweep` in a subprocess of its own session (the local executor, one worker); the values
are checked against the same runs done with `zeroshift run` in this process, with their own cache and store. The
kill at an arbitrary moment is slow (two more sweeps): `pytest -m slow tests/integration/test_sweep_resume.py`.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zeroshift.results.store import Store
from zeroshift.sweep.driver import KILL_DRIVER_ENV
from zeroshift.sweep.worker import DIE_ENV

from .test_sweep import assert_same_records, cli, key

MODEL = "zoo:sup-cnn-tiny"
N = 8
SUITE = f"""runs:
  - {{benchmark: "factorworld(n={N})", metrics: [accuracy, calibration]}}
  - {{benchmark: "factorworld(n={N})", shift: "corruption(name='fog', severity=3)"}}
  - {{benchmark: "factorworld_sketch(n={N})"}}
"""
CONDITIONS = 3


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume")
    (folder / "suite.yaml").write_text(SUITE)
    (folder / "plan.yaml").write_text(f"models: [{MODEL}]\nsuites: [suite.yaml]\nbootstrap: 50\n")
    return folder


@pytest.fixture(scope="module")
def reference(study, tmp_path_factory):
    """The same conditions with `zeroshift run`: key -> record."""
    folder = tmp_path_factory.mktemp("resume-ref")
    store = folder / "ref.db"
    code, _ = cli(["run", "-m", MODEL, "--suite", str(study / "suite.yaml"), "--store", str(store), "--bootstrap",
                   "50", "--no-progress", "--json"], {"ZEROSHIFT_CACHE": str(folder / "cache")})  # fmt: skip
    assert code == 0
    records = {key(r): r for r in Store(store).records()}
    assert len(records) == CONDITIONS
    return records


def sweep_process(study: Path, store: Path, cache: Path, extra_env: dict[str, str]) -> subprocess.Popen:
    """`zeroshift sweep` in a new session (its process group holds the driver and its worker processes)."""
    env = {**os.environ, "ZEROSHIFT_CACHE": str(cache), **extra_env}
    env.pop(DIE_ENV, None)
    code = "from zeroshift.cli.main import main; main()"
    args = [sys.executable, "-c", code, "sweep", str(study / "plan.yaml"), "--workers", "1", "--loader-workers", "0",
            "--store", str(store), "--no-progress", "--json"]  # fmt: skip
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip


def group_gone(pgid: int, wait: float = 20.0) -> bool:
    """Whether every process of the group has exited (within ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def metric_rows(store: Path) -> dict[str, int]:
    """run id -> metric rows, read with sqlite3 (not through zeroshift's store)."""
    with sqlite3.connect(store) as conn:
        query = (
            "SELECT r.run_id, COUNT(m.name) FROM runs r LEFT JOIN metrics m ON m.run_id = r.run_id GROUP BY r.run_id"
        )
        return dict(conn.execute(query).fetchall())


def which(record) -> str:
    """clean, fog or sketch: the plan's order."""
    return "sketch" if "sketch" in record.benchmark else ("fog" if record.shift else "clean")


def test_driver_killed_with_a_computed_record_unwritten_resumes_from_the_cache(study, reference, tmp_path):
    store, cache = tmp_path / "sweep.db", tmp_path / "cache"
    # the driver dies on receiving the 2nd record (computed and cached by the worker, in no store yet)
    proc = sweep_process(study, store, cache, {KILL_DRIVER_ENV: "2"})
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, err[-3000:]
    assert group_gone(proc.pid), "a worker process outlived its driver"
    first = Store(store).records()
    assert [which(r) for r in first] == ["clean"]
    first_id = first[0].run_id
    assert metric_rows(store) == {first_id: len(reference[key(first[0])].metrics)}  # a whole record, no other

    proc = sweep_process(study, store, cache, {})
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["totals"] == {"tasks": 1, "conditions": CONDITIONS, "done": CONDITIONS - 1, "skipped": 1,
                                 "failed": 0, "failed_tasks": 0}  # fmt: skip
    records = Store(store).records()
    assert len(records) == len({key(r) for r in records}) == CONDITIONS  # nothing lost, nothing twice
    assert_same_records(records, reference)
    by_name = {which(r): r for r in records}
    clean, fog, sketch = by_name["clean"], by_name["fog"], by_name["sketch"]
    assert clean.run_id == first_id  # the record written before the kill is kept as it was
    assert fog.counts["encoded_total"] == 0  # computed before the kill: served from the cache
    assert sketch.counts["encoded_total"] == N  # never reached before the kill: encoded once
    assert all(r.provenance["sweep"]["attempt"] == 1 for r in (fog, sketch))
    assert metric_rows(store) == {r.run_id: len(r.metrics) for r in records}


def stored_count(store: Path) -> int:
    """Records in the store, read with sqlite3 while the sweep writes (0 before its schema exists)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_driver_killed_at_any_moment_loses_and_duplicates_nothing(study, reference, tmp_path):
    store, cache = tmp_path / "sweep.db", tmp_path / "cache"
    proc = sweep_process(study, store, cache, {})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:  # kill the whole group once a record is stored
        if store.exists() and stored_count(store) >= 1:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err[-3000:]
    assert group_gone(proc.pid)
    before = {r.run_id: key(r) for r in Store(store).records()}
    assert 1 <= len(before) <= CONDITIONS
    assert metric_rows(store) == {r.run_id: len(r.metrics) for r in Store(store).records()}  # whole records only

    proc = sweep_process(study, store, cache, {})
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["totals"]["skipped"] == len(before) and summary["totals"]["failed"] == 0
    records = Store(store).records()
    assert len(records) == len({key(r) for r in records}) == CONDITIONS
    assert set(before) <= {r.run_id for r in records}
    assert_same_records(records, reference)
    # every image of the sweep was encoded at most once over the two drivers' records
    assert sum(r.counts["encoded_total"] for r in records) <= CONDITIONS * N
