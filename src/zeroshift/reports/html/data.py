"""The report's view of a results store: entries (model x prompt set), conditions, and the newest value of each.

Records are append-only and one condition may be evaluated several times, with different metric groups
(``--metrics calibration`` after an accuracy run): for every (entry, condition, metric) the report takes the
newest record that holds that metric, so a later run of another group never hides an earlier one -- and never a
``--limit`` run over a full run of the same condition (:func:`zeroshift.reports.base.preference`).

Example:
    >>> from zeroshift.results import RunRecord
    >>> from zeroshift.metrics import MetricValue
    >>> rec = RunRecord.new(model="zoo:a", benchmark="b", shift=None, prompts="simple", label_space="full",
    ...                     metrics=[MetricValue("top1", 0.5, True, 0.4, 0.6)])
    >>> data = ReportData([rec])
    >>> [e.label for e in data.entries], data.conditions[0].label
    (['zoo:a'], 'b')
    >>> data.metric(data.entries[0], data.conditions[0], "top1").value
    0.5

"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from zeroshift.conditions import condition_of
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.base import preference
from zeroshift.results.schema import RunRecord

#: Okabe-Ito and Tableau colours: distinguishable, colour-blind safe first
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#d55e00",
    "#56b4e9",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#1f1f7a",
    "#9467bd",
)
#: SVG dash patterns, cycled once the palette is used up
DASHES = ("", "5 3", "2 2", "8 3 2 3")


@dataclass(frozen=True)
class Condition:
    """What a record measured on: benchmark, shift and label space (canonical strings), with the structured fields
    of its records (``info``: kind, corruption, in-distribution set, readable name; see :mod:`zeroshift.conditions`).
    """

    benchmark: str
    shift: str | None
    label_space: str
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        """The report label: the canonical benchmark, ``+ shift``, and ``[label space]`` when not ``full``."""
        out = self.benchmark + (f" + {self.shift}" if self.shift else "")
        return out + (f" [{self.label_space}]" if self.label_space not in ("full", "") else "")

    @property
    def kind(self) -> str:
        """``in_distribution``, ``natural_shift``, ``corruption``, ``typographic``, ``adversarial``, ``ood``..."""
        return str(self.info.get("kind", "unknown"))

    @property
    def corruption(self) -> tuple[str, int] | None:
        """``(corruption, severity)`` of a corrupted condition, else None."""
        c = self.info.get("corruption")
        return (str(c["name"]), int(c["severity"])) if c else None

    @property
    def base(self) -> str:
        """The clean benchmark whose images the condition shows (canonical)."""
        return str(self.info.get("base") or self.benchmark)

    @property
    def in_distribution(self) -> str | None:
        """The canonical benchmark this condition is compared with (None for an in-distribution condition)."""
        return self.info.get("in_distribution")

    @property
    def name(self) -> str:
        """The benchmark's registry name."""
        return str(self.info.get("benchmark") or self.benchmark.split("(", 1)[0])

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.benchmark, self.shift or "", self.label_space)


@dataclass(frozen=True)
class Entry:
    """One series of the report: a model under one prompt set, with its metadata, colour and element id."""

    id: str
    model: str
    prompts: str
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    color: str = PALETTE[0]
    dash: str = ""
    label: str = ""

    def factor(self, name: str) -> Any:
        """A six-factor field: ``prompts`` or a model_info field (None when unknown)."""
        return self.prompts if name == "prompts" else self.info.get(name)


@dataclass
class Cell:
    """The newest value of one metric for one entry and condition, with the record it comes from."""

    value: MetricValue
    record: RunRecord


class ReportData:
    """Records grouped for drawing (see the module docstring)."""

    def __init__(
        self, records: Iterable[RunRecord], store: Any = None, references: dict[str, Any] | None = None
    ) -> None:
        # the preferred record comes last, so it overwrites: full runs over --limit runs, then the newest
        self.records: list[RunRecord] = sorted(records, key=preference)
        #: the results store the records come from (for analyses that need saved samples), if any
        self.store = store
        #: folders of reference data given by the user (``humans``, ``imagenet_x``)
        self.references: dict[str, Any] = {k: v for k, v in (references or {}).items() if v is not None}
        #: analyses memoised by sections (a section's build and its summary columns share one computation)
        self.memo: dict[str, Any] = {}
        prompts_of: dict[str, set[str]] = defaultdict(set)
        infos: dict[tuple[str, str], dict[str, Any]] = {}
        cells: dict[tuple[tuple[str, str], Condition], dict[str, Cell]] = defaultdict(dict)
        for r in self.records:  # oldest first, so newer records overwrite
            key = (r.model, r.prompts)
            prompts_of[r.model].add(r.prompts)
            infos[key] = {**infos.get(key, {}), **(r.model_info or {})}
            cond = Condition(r.benchmark, r.shift, r.label_space, condition_of(r))
            for m in r.metrics:
                cells[(key, cond)][m.name] = Cell(m, r)
        self.entries: list[Entry] = []
        self._entry_of: dict[tuple[str, str], Entry] = {}
        for i, key in enumerate(sorted(infos)):
            model, prompts = key
            entry = Entry(
                id=f"e{i}",
                model=model,
                prompts=prompts,
                info=infos[key],
                color=PALETTE[i % len(PALETTE)],
                dash=DASHES[(i // len(PALETTE)) % len(DASHES)],
                label=model if len(prompts_of[model]) == 1 else f"{model} · {prompts}",
            )
            self.entries.append(entry)
            self._entry_of[key] = entry
        self._cells: dict[tuple[str, Condition], dict[str, Cell]] = {
            (self._entry_of[key].id, cond): row for (key, cond), row in cells.items()
        }
        self.conditions: list[Condition] = sorted({c for _, c in self._cells}, key=lambda c: c.sort_key)
        self.metric_names: set[str] = {n for row in self._cells.values() for n in row}

    def entry(self, model: str, prompts: str) -> Entry | None:
        """The entry of a model under a prompt set."""
        return self._entry_of.get((model, prompts))

    def __len__(self) -> int:
        return len(self.records)

    def cell(self, entry: Entry, condition: Condition, name: str) -> Cell | None:
        """The newest value of ``name`` for the entry and condition, with its record."""
        return self._cells.get((entry.id, condition), {}).get(name)

    def metric(self, entry: Entry, condition: Condition, name: str) -> MetricValue | None:
        """The newest value of ``name`` for the entry and condition."""
        cell = self.cell(entry, condition, name)
        return cell.value if cell else None

    def names(self, entry: Entry, condition: Condition) -> list[str]:
        """Metric names measured for the entry and condition."""
        return sorted(self._cells.get((entry.id, condition), {}))

    def has(self, pattern: str | re.Pattern[str], where: Callable[[Condition], bool] | None = None) -> bool:
        """Whether some entry has a metric whose whole name matches ``pattern`` on a condition ``where`` accepts."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        for (_, cond), row in self._cells.items():
            if (where is None or where(cond)) and any(regex.fullmatch(n) for n in row):
                return True
        return False

    def conditions_with(self, name: str, where: Callable[[Condition], bool] | None = None) -> list[Condition]:
        """Conditions on which some entry has metric ``name``."""
        return [
            c
            for c in self.conditions
            if (where is None or where(c)) and any(name in self._cells.get((e.id, c), {}) for e in self.entries)
        ]

    def entries_with(self, name: str, condition: Condition) -> list[Entry]:
        """Entries that have metric ``name`` on ``condition``."""
        return [e for e in self.entries if name in self._cells.get((e.id, condition), {})]

    def cells(self, name: str | re.Pattern[str]) -> list[tuple[Entry, Condition, str, Cell]]:
        """Every (entry, condition, metric name, cell) whose metric name fully matches ``name``."""
        regex = re.compile(re.escape(name)) if isinstance(name, str) else name
        out = []
        for e in self.entries:
            for c in self.conditions:
                for n, cell in sorted(self._cells.get((e.id, c), {}).items()):
                    if regex.fullmatch(n):
                        out.append((e, c, n, cell))
        return out
