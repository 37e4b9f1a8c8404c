import json
import multiprocessing as mp
import sqlite3

from zeroshift.metrics.base import MetricValue
from zeroshift.results.schema import RunRecord, SampleOutputs
from zeroshift.results.store import Store


def record(i, n_metrics=3, samples=0):
    rec = RunRecord.new(
        model=f"zoo:m{i % 2}",
        benchmark="imagenet_r",
        shift=None,
        prompts="simple",
        label_space="subset",
        metrics=[MetricValue(f"m{j}", i + j / 10, True, i, i + 1) for j in range(n_metrics)],
    )
    if samples:
        rec.samples = SampleOutputs(
            [f"s{k}" for k in range(samples)],
            list(range(samples)),
            [[k, 0] for k in range(samples)],
            [[0.9, 0.1]] * samples,
            {"score": [0.5] * samples},
        )
    return rec


def test_round_trip_with_samples(tmp_path):
    store = Store(tmp_path / "r.db")
    rec = record(1, samples=4)
    rec.provenance = {"versions": {"torch": "x"}}
    store.write(rec)
    (back,) = store.records()
    assert back.run_id == rec.run_id and back.metric("m1").value == 1.1 and back.provenance == rec.provenance
    samples = store.samples(rec.run_id)
    assert samples.sample_ids == ["s0", "s1", "s2", "s3"] and samples.topk[2] == [2, 0]
    assert samples.extra == {"score": [0.5] * 4}
    rows = list(store.metric_rows())
    assert len(rows) == 3 and rows[0]["benchmark"] == "imagenet_r"


def test_filters_and_latest(tmp_path):
    store = Store(tmp_path / "r.db")
    for i in range(4):
        store.write(record(i))
    assert len(store.records(model="zoo:m0")) == 2
    assert len(store.records(latest=True)) == 2
    assert store.count() == 4


def test_nan_values_are_stored_as_null(tmp_path):
    store = Store(tmp_path / "r.db")
    rec = record(0)
    rec.metrics.append(MetricValue("undefined", float("nan"), True))
    store.write(rec)
    back = store.records()[0].metric("undefined")
    assert back.value != back.value  # NaN survives the round trip


def _writer(path, start):
    store = Store(path)
    for i in range(start, start + 10):
        store.write(record(i, n_metrics=5, samples=50))


def test_concurrent_writers_lose_nothing_and_records_are_whole(tmp_path):
    path = tmp_path / "shared.db"
    Store(path)  # create the schema once
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), s)) for s in (0, 100, 200, 300)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(path)
    assert store.count() == 40
    con = sqlite3.connect(path)
    per_run = dict(con.execute("SELECT run_id, COUNT(*) FROM metrics GROUP BY run_id").fetchall())
    samples = dict(con.execute("SELECT run_id, COUNT(*) FROM samples GROUP BY run_id").fetchall())
    assert len(per_run) == 40 and set(per_run.values()) == {5} and set(samples.values()) == {50}
    for (text,) in con.execute("SELECT record FROM runs"):
        assert len(json.loads(text)["metrics"]) == 5
