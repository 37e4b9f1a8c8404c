"""The sweep driver with a scripted executor: each record written exactly once, whichever attempt delivers it, retries
of what a dead worker had not delivered, failed tasks reported while the sweep goes on; on SQLite and on PostgreSQL.

No model runs here: the executor replays scripted events (the records are the store tests' records).
"""

from types import SimpleNamespace

import pytest

from tests.helpers import start_postgres
from tests.unit.test_store import record
from zeroshift.engine.options import RunOptions
from zeroshift.results.store import Store
from zeroshift.sweep import driver
from zeroshift.sweep.driver import run_sweep
from zeroshift.sweep.tasks import Task


class ScriptedExecutor:
    """Replays, for each (task, attempt), a list of events; then ``finished``. Records which attempts it was given."""

    name = "scripted"

    def __init__(self, script, capacity=2):
        self.script = script
        self._capacity = capacity
        self.in_flight = []
        self.submitted = []

    def start(self):
        pass

    def describe(self):
        return "scripted"

    def capacity(self):
        return self._capacity

    def running(self):
        return len(self.in_flight)

    def submit(self, attempt):
        self.submitted.append((attempt.task, attempt.number, [i for i, _ in attempt.items]))
        self.in_flight.append(attempt)

    def events(self, timeout):
        if not self.in_flight:
            return []
        attempt = self.in_flight.pop(0)
        events = self.script.get(attempt.key, [])
        return [(attempt.key, e) for e in events] + [(attempt.key, {"kind": "finished"})]

    def close(self):
        pass


def item(label):
    spec = SimpleNamespace(benchmark=SimpleNamespace(canonical=label), shift=None, prompts="simple")
    return SimpleNamespace(spec=spec, label=label)


def rec(n):
    return {"kind": "record", "item": n % 10, "record": record(n).to_json(with_samples=True), "seconds": 0.1}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "r.db")
        return
    pytest.importorskip("psycopg", reason="psycopg is needed for PostgreSQL (pip install zeroshift[postgres])")
    url, stop = start_postgres()  # skips with a reason when the server binaries are absent
    yield url
    stop()


def test_records_once_whichever_attempt_delivers_them(store_url, monkeypatch):
    store = Store(store_url)
    runner = SimpleNamespace(store=store)
    # the store check of a retry: a condition is stored when a record of its item's number is in the store
    written = {}
    monkeypatch.setattr(driver, "stored_record", lambda runner, it: written.get(it.label))
    tasks = [Task(0, "zoo:a", [item("a0"), item("a1"), item("a2")]), Task(1, "zoo:b", [item("b0"), item("b1")])]
    script = {
        # zoo:a: the first worker delivers a0 then dies; a1 was computed but never delivered
        (0, 1): [rec(0), {"kind": "crashed", "error": "worker process died (exit code 75)"}],
        # the retry runs a1 and a2 only, and delivers a0 again by mistake: it is not written twice
        (0, 2): [rec(1), rec(0), rec(2)],
        # zoo:b: b0 raises on every attempt, b1 is fine on the first
        (1, 1): [{"kind": "error", "item": 0, "error": "ValueError: bad"}, rec(11)],
        (1, 2): [{"kind": "error", "item": 0, "error": "ValueError: bad"}],
        (1, 3): [{"kind": "error", "item": 0, "error": "ValueError: bad"}],
    }
    executor = ScriptedExecutor(script)

    def on_record(r):
        written[f"{'ab'[int(r.metrics[0].value) // 10]}{int(r.metrics[0].value) % 10}"] = r

    summary = run_sweep(tasks, executor, runner, RunOptions(), retries=2, plan_digest="d", on_record=on_record)
    assert [(t, n, items) for t, n, items in executor.submitted] == [
        (0, 1, [0, 1, 2]),
        (1, 1, [0, 1]),
        (0, 2, [1, 2]),  # only what the dead worker had not delivered
        (1, 2, [0]),
        (1, 3, [0]),
    ]
    assert summary.totals() == {"tasks": 2, "conditions": 5, "done": 4, "skipped": 0, "failed": 1, "failed_tasks": 1}
    a, b = summary.outcomes
    assert (a.attempts, a.done, a.failed) == (2, 3, 0) and "worker process died (exit code 75)" in a.errors
    assert (b.attempts, b.done, b.failed) == (3, 1, 1) and b.errors == ["b0 | simple: ValueError: bad"]
    records = Store(store_url).records()
    assert sorted(r.metrics[0].value for r in records) == [0, 1, 2, 11]  # each once
    assert all(len(r.metrics) == 3 for r in records)
    by_value = {r.metrics[0].value: r for r in records}
    assert by_value[0].provenance["sweep"] == {"executor": "scripted", "attempt": 1, "plan": "d"}
    assert by_value[1].provenance["sweep"]["attempt"] == 2


def test_a_retry_skips_what_reached_the_store_meanwhile(tmp_path, monkeypatch):
    store = Store(tmp_path / "r.db")
    runner = SimpleNamespace(store=store)
    task = Task(0, "zoo:a", [item("a0"), item("a1")])
    # the first attempt dies before delivering anything, but a1 is in the store by the time of the retry
    monkeypatch.setattr(driver, "stored_record", lambda runner, it: object() if it.label == "a1" else None)
    executor = ScriptedExecutor({(0, 1): [{"kind": "crashed", "error": "died"}], (0, 2): [rec(0)]})
    summary = run_sweep([task], executor, runner, RunOptions(), retries=1)
    assert executor.submitted == [(0, 1, [0, 1]), (0, 2, [0])]
    assert summary.totals()["done"] == 1 and summary.totals()["skipped"] == 1 and summary.totals()["failed"] == 0
