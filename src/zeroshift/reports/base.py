"""What every report needs from stored records: conditions, model keys, metadata fields, shipped data files.

Example:
    >>> from zeroshift.results.schema import RunRecord
    >>> rec = RunRecord.new(model="timm:resnet50", benchmark="imagenet_v2(variant='matched-frequency')", shift=None,
    ...                     prompts="n/a (fixed head)", label_space="full", model_info={"loss": "supervised"})
    >>> matches(rec, "imagenet_v2", {"variant": "matched-frequency"}, "full")
    True
    >>> field_value(rec, "loss")
    'supervised'

"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from zeroshift.conditions import condition_of
from zeroshift.core.numeric import finite  # noqa: F401  (re-exported for the analyses)
from zeroshift.errors import UsageError
from zeroshift.results.schema import RunRecord

#: model metadata fields a report can group or filter by (``record.model_info`` keys), plus run fields
INFO_FIELDS = (
    "architecture",
    "family",
    "params",
    "training_data",
    "data_size",
    "loss",
    "fine_tuned",
    "kind",
    "backend",
)
RUN_FIELDS = ("model", "prompts", "label_space", "benchmark", "shift")
FIELDS = INFO_FIELDS + RUN_FIELDS


def info_text(name: str) -> str:
    """The text of ``reports/_info/<name>``."""
    return (resources.files("zeroshift.reports") / "_info" / name).read_text(encoding="utf-8")


def info_json(name: str) -> Any:
    """The parsed JSON of ``reports/_info/<name>``."""
    return json.loads(info_text(name))


def info_csv(name: str) -> list[dict[str, str]]:
    """The rows of ``reports/_info/<name>``."""
    return list(csv.DictReader(io.StringIO(info_text(name))))


def matches(
    record: RunRecord, benchmark: str, params: dict[str, Any] | None = None, label_space: str | None = None
) -> bool:
    """Whether a clean record is of ``benchmark`` with (at least) these parameter values and label space."""
    if record.shift is not None:
        return False
    condition = condition_of(record)
    if condition.get("benchmark") != benchmark:
        return False
    kwargs = condition.get("benchmark_params") or {}
    if any(kwargs.get(k, v) != v for k, v in (params or {}).items()):
        return False
    return label_space is None or record.label_space == label_space


def model_key(record: RunRecord) -> tuple[str, str]:
    """``(model, prompts)``: one point of a cross-model analysis (a prompt set changes a zero-shot model)."""
    return record.model, record.prompts


def limit_of(record: RunRecord) -> int | None:
    """The ``--limit`` subset size a record was evaluated on (None for a full run)."""
    limit = (record.condition or {}).get("limit")
    if isinstance(limit, dict):
        return int(limit["n"]) if limit.get("n") is not None else None
    raw = (record.config or {}).get("limit")
    return int(raw) if raw is not None else None


def preference(record: RunRecord) -> tuple[bool, str, str]:
    """Sort key under which the preferred record of a condition comes last: full runs over ``--limit`` runs (whatever
    their age), then the newest.
    """
    return limit_of(record) is None, record.created_at, record.run_id


#: what analyses record about the population of records they read
POPULATION = (
    "full runs (a --limit run never replaces a full run of the same condition); a condition with only --limit runs "
    "uses its newest one, and in- and out-of-distribution runs are paired only within one subset size"
)


def latest(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The preferred record of each (model, benchmark, shift, prompts, label space): the newest full run, else the
    newest ``--limit`` run (see :func:`preference`).

    Example:
        >>> from zeroshift.results.schema import RunRecord
        >>> full = RunRecord.new(model="m", benchmark="b", shift=None, prompts="p", label_space="full")
        >>> quick = RunRecord.new(model="m", benchmark="b", shift=None, prompts="p", label_space="full",
        ...                       config={"limit": 20})
        >>> quick.created_at = "9999"  # a later quick look
        >>> latest([full, quick])[0] is full
        True

    """
    newest: dict[tuple[Any, ...], RunRecord] = {}
    for r in sorted(records, key=preference):
        newest[(r.model, r.benchmark, r.shift, r.prompts, r.label_space)] = r
    return list(newest.values())


def field_value(record: RunRecord, name: str) -> Any:
    """A metadata field (``record.model_info``) or a run field (``model``, ``prompts``...) of a record."""
    if name in RUN_FIELDS:
        return getattr(record, name)
    if name in INFO_FIELDS:
        return record.model_info.get(name)
    raise UsageError(f"unknown field {name!r}; choose one of: {', '.join(FIELDS)}")


def check_field(name: str) -> str:
    """Return ``name`` if it is a known field, else raise a one-line UsageError with suggestions."""
    from zeroshift.registry import suggest

    if name not in FIELDS:
        raise UsageError(f"unknown field {name!r}{suggest(name, list(FIELDS))}; choose one of: {', '.join(FIELDS)}")
    return name


def parse_filter(pairs: dict[str, str]) -> dict[str, str]:
    """Check ``FIELD=VALUE`` filters (values compared as text, case-insensitively)."""
    return {check_field(k): v for k, v in pairs.items()}


def passes(record: RunRecord, filters: dict[str, str]) -> bool:
    """Whether the record's fields equal every filter value (compared as lower-case text)."""
    return all(str(field_value(record, k)).lower() == v.lower() for k, v in filters.items())
