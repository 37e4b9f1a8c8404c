"""The results store: SQLite by default, any SQLAlchemy URL (PostgreSQL) for a team.

Records are append-only. One record, its metric rows and its sample rows are written in a single
transaction, so a reader never sees half a record, and SQLite runs in WAL mode with a busy timeout so that
concurrent writers queue instead of failing. Rows are indexed by model, benchmark, shift and metric.

Example:
    >>> import tempfile, os
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "r.db"))
    >>> rec = RunRecord.new(model="zoo:x", benchmark="b", shift=None, prompts="simple", label_space="native",
    ...                     metrics=[MetricValue("top1", 0.5, True, 0.4, 0.6)])
    >>> store.write(rec)
    >>> [r.metric("top1").value for r in store.records()]
    [0.5]

"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from zeroshift.errors import UsageError
from zeroshift.metrics.base import MetricValue
from zeroshift.results.schema import RunRecord, SampleOutputs

META = sa.MetaData()

RUNS = sa.Table(
    "runs",
    META,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False, index=True),
    sa.Column("model", sa.Text, nullable=False, index=True),
    sa.Column("benchmark", sa.Text, nullable=False, index=True),
    sa.Column("shift", sa.Text, index=True),
    sa.Column("prompts", sa.Text, nullable=False),
    sa.Column("label_space", sa.String(64), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)

METRICS = sa.Table(
    "metrics",
    META,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False, index=True),
    sa.Column("value", sa.Float),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("higher_is_better", sa.Boolean, nullable=False),
    sa.Column("details", sa.Text),
    sa.UniqueConstraint("run_id", "name"),
)

SAMPLES = sa.Table(
    "samples",
    META,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("sample_id", sa.Text, nullable=False),
    sa.Column("label", sa.Integer, nullable=False),
    sa.Column("pred", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean),
    sa.Column("confidence", sa.Float),
    sa.Column("topk", sa.Text, nullable=False),
    sa.Column("extra", sa.Text),
    sa.PrimaryKeyConstraint("run_id", "idx"),
)


def _url(target: str | os.PathLike[str]) -> str:
    text = os.fspath(target)
    return text if "://" in text else f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=120000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """An append-only results database (see the module docstring)."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.url = _url(target)
        try:
            self.engine: Engine = sa.create_engine(self.url, future=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as err:
            raise UsageError(f"cannot open results store {target!r}: {err}") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            META.create_all(self.engine)
        except sa.exc.OperationalError as err:
            raise UsageError(f"cannot open results store {target!r}: {str(err.orig).splitlines()[0]}") from None

    def __repr__(self) -> str:
        return f"Store({self.display!r})"

    @property
    def display(self) -> str:
        """Where the store is, for people: the file of a SQLite store, else the URL without its password."""
        if self.engine.dialect.name == "sqlite":
            return self.url.removeprefix("sqlite:///")
        return self.engine.url.render_as_string(hide_password=True)

    def write(self, record: RunRecord) -> None:
        """Insert a record, its metrics and its samples in one transaction."""
        metric_rows = [
            {
                "run_id": record.run_id,
                **{k: v for k, v in m.as_dict().items() if k != "details"},
                "details": json.dumps(m.as_dict()["details"], default=str),
            }
            for m in record.metrics
        ]
        sample_rows = []
        if record.samples is not None:
            s = record.samples
            for i, sid in enumerate(s.sample_ids):
                label, topk = s.labels[i], s.topk[i]
                sample_rows.append(
                    {
                        "run_id": record.run_id,
                        "idx": i,
                        "sample_id": sid,
                        "label": label,
                        "pred": topk[0] if topk else -1,
                        "correct": (topk[0] == label) if topk and label >= 0 else None,
                        "confidence": s.topk_scores[i][0] if s.topk_scores[i] else None,
                        "topk": json.dumps({"idx": topk, "p": s.topk_scores[i]}),
                        "extra": json.dumps({k: v[i] for k, v in s.extra.items()}, default=float) if s.extra else None,
                    }
                )
        with self.engine.begin() as conn:
            conn.execute(
                RUNS.insert().values(
                    run_id=record.run_id,
                    schema_version=record.schema_version,
                    created_at=record.created_at,
                    model=record.model,
                    benchmark=record.benchmark,
                    shift=record.shift,
                    prompts=record.prompts,
                    label_space=record.label_space,
                    record=record.to_json(),
                )
            )
            if metric_rows:
                conn.execute(METRICS.insert(), metric_rows)
            for start in range(0, len(sample_rows), 5000):
                conn.execute(SAMPLES.insert(), sample_rows[start : start + 5000])

    def records(
        self, model: str | None = None, benchmark: str | None = None, shift: str | None = None, latest: bool = False
    ) -> list[RunRecord]:
        """Records matching the filters (exact canonical strings), oldest first.

        With ``latest``, only the newest record of each (model, benchmark, shift, prompts, label space).
        """
        query = sa.select(RUNS.c.record).order_by(RUNS.c.created_at, RUNS.c.run_id)
        for column, value in ((RUNS.c.model, model), (RUNS.c.benchmark, benchmark), (RUNS.c.shift, shift)):
            if value is not None:
                query = query.where(column == value)
        with self.engine.connect() as conn:
            records = [RunRecord.from_json(row[0]) for row in conn.execute(query)]
        if latest:
            newest: dict[tuple[Any, ...], RunRecord] = {}
            for r in records:
                newest[(r.model, r.benchmark, r.shift, r.prompts, r.label_space)] = r
            records = list(newest.values())
        return records

    def samples(self, run_id: str) -> SampleOutputs | None:
        """The per-sample outputs saved with a run, or None."""
        query = sa.select(SAMPLES).where(SAMPLES.c.run_id == run_id).order_by(SAMPLES.c.idx)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        if not rows:
            return None
        topk = [json.loads(r.topk) for r in rows]
        extras = [json.loads(r.extra) if r.extra else {} for r in rows]
        keys = sorted({k for e in extras for k in e})
        return SampleOutputs(
            sample_ids=[r.sample_id for r in rows],
            labels=[r.label for r in rows],
            topk=[t["idx"] for t in topk],
            topk_scores=[t["p"] for t in topk],
            extra={k: [e.get(k) for e in extras] for k in keys},
        )

    def metric_rows(self) -> Iterator[dict[str, Any]]:
        """One flat dict per (run, metric): the run's keys with the metric's value and interval."""
        query = (
            sa.select(
                RUNS.c.run_id,
                RUNS.c.created_at,
                RUNS.c.model,
                RUNS.c.benchmark,
                RUNS.c.shift,
                RUNS.c.prompts,
                RUNS.c.label_space,
                METRICS.c.name,
                METRICS.c.value,
                METRICS.c.ci_low,
                METRICS.c.ci_high,
                METRICS.c.higher_is_better,
            )
            .join(METRICS, METRICS.c.run_id == RUNS.c.run_id)
            .order_by(RUNS.c.created_at, RUNS.c.run_id, METRICS.c.name)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield dict(row._mapping)

    def count(self) -> int:
        """Number of records."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(RUNS)).scalar_one())


__all__ = ["MetricValue", "RunRecord", "SampleOutputs", "Store"]
