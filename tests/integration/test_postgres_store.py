"""The results store on a real PostgreSQL server (started for the test), through a SQLAlchemy URL."""

import multiprocessing as mp

import pytest

from tests.helpers import start_postgres
from tests.unit.test_store import _writer, record
from zeroshift.results.store import Store


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg", reason="psycopg is needed for PostgreSQL (pip install zeroshift[postgres])")
    url, stop = start_postgres()
    yield url
    stop()


def test_round_trip_and_concurrent_writers(postgres_url):
    store = Store(postgres_url)
    rec = record(7, samples=3)
    store.write(rec)
    (back,) = store.records()
    assert back.run_id == rec.run_id and store.samples(rec.run_id).sample_ids == ["s0", "s1", "s2"]
    assert "postgresql" in store.display and "postgres@" in store.display

    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(postgres_url, s)) for s in (0, 100, 200)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    records = Store(postgres_url).records()
    assert len(records) == 31  # 1 + 3 writers x 10, none lost
    assert sorted(len(r.metrics) for r in records) == [3] + [5] * 30  # every record whole
