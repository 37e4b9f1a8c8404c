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
#: colours of series that are not models (groups of models, factors): Paul Tol's muted scheme, so that a group is
#: never mistaken for the model drawn in the same colour elsewhere on the page
GROUP_PALETTE = ("#332288", "#117733", "#882255", "#999933", "#44aa99", "#aa4499", "#ddcc77", "#88ccee", "#cc6677")
#: SVG dash patterns, cycled once the palette is used up
DASHES = ("", "5 3", "2 2", "8 3 2 3")


#: the order of kinds of condition on the page (and in every list of conditions)
KIND_ORDER = (
    "in_distribution",
    "natural_shift",
    "diagnostic",
    "typographic",
    "corruption",
    "synthetic",
    "adversarial",
    "ood",
    "unknown",
)
#: readable names of the kinds of condition
KIND_TITLES = {
    "in_distribution": "in distribution",
    "natural_shift": "distribution shifts",
    "diagnostic": "diagnostic sets",
    "typographic": "typographic attacks and words in the image",
    "corruption": "corruptions",
    "synthetic": "synthetic shifts",
    "adversarial": "adversarial attacks",
    "ood": "out-of-distribution sets",
    "unknown": "other conditions",
}


@dataclass(frozen=True)
class Condition:
    """What a record measured on: benchmark, shift and label space (canonical strings), with the structured fields
    of its records (``info``: kind, corruption, in-distribution set, readable name; see :mod:`zeroshift.conditions`).

    ``label`` is the readable name the page shows (``FactorWorld sketch``, ``PGD L-inf 2/255``, ``fog, severity
    3``), unique among the store's conditions (:class:`ReportData` sets it); ``spec`` is the canonical string, kept
    for tooltips, protocol blocks and data files.
    """

    benchmark: str
    shift: str | None
    label_space: str
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def spec(self) -> str:
        """The canonical benchmark, ``+ shift``, and ``[label space]`` when not ``full`` (tooltips and data files)."""
        out = self.benchmark + (f" + {self.shift}" if self.shift else "")
        return out + (f" [{self.label_space}]" if self.label_space not in ("full", "") else "")

    @property
    def label(self) -> str:
        """The readable label (unique within a :class:`ReportData`; see :func:`readable_parts`)."""
        given = self.info.get("display_label")
        if given:
            return str(given)
        base, shift = readable_parts(self)
        return f"{base}: {shift}" if shift else base

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
    def display_name(self) -> str:
        """The benchmark's readable name (``FactorWorld sketch``, ``ImageNet-R``)."""
        return str(self.info.get("name") or self.name)

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Kind (in the order of :data:`KIND_ORDER`), benchmark, shift, then severity or size."""
        kind = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        params = self.info.get("benchmark_params") or {}
        n = params.get("n") if isinstance(params, dict) else None
        size = -float(n) if isinstance(n, int | float) and not isinstance(n, bool) else 0.0
        shift_params = self.info.get("shift_params") or {}
        strength = _strength(self.corruption[1] if self.corruption else shift_params.get("eps"))
        shift_name = str(self.info.get("shift") or "")
        return (kind, self.name, size, shift_name, strength, self.benchmark, self.shift or "", self.label_space)


def _strength(v: Any) -> float:
    """A severity or an epsilon (``'2/255'``) as a number for sorting (0 when there is none)."""
    if isinstance(v, bool) or v is None:
        return 0.0
    if isinstance(v, int | float):
        return float(v)
    text_ = str(v)
    try:
        if "/" in text_:
            num, den = text_.split("/", 1)
            return float(num) / float(den)
        return float(text_)
    except ValueError:
        return 0.0


def readable_parts(c: Condition) -> tuple[str, str | None]:
    """(benchmark name, shift label or None) of a condition, from its structured fields.

    The shift's label is what ``Shift.label()`` wrote into the record (``typographic: confusable word``, ``PGD
    L-inf 2/255``); released corrupted images (ImageNet-C) are named by their corruption and severity.

    Example:
        >>> c = Condition("imagenet(split='val')", "corruption(name='fog', severity=3)", "full",
        ...               {"name": "ImageNet", "label": "ImageNet: fog, severity 3", "corruption": {"name": "fog",
        ...                "severity": 3}, "kind": "corruption"})
        >>> readable_parts(c)
        ('ImageNet', 'fog, severity 3')

    """
    name = c.display_name
    if c.shift:
        full = str(c.info.get("label") or "")
        prefix = name + ": "
        return name, (full[len(prefix) :] if full.startswith(prefix) else full or c.shift)
    if c.corruption is not None:
        corruption, severity = c.corruption
        return name, f"{corruption.replace('_', ' ')}, severity {severity}"
    return name, None


def _qualifier(key: str, value: Any) -> str:
    if key == "n" and isinstance(value, int):
        return f"{value}-image split"
    if key == "path":
        return str(value).rstrip("/").rsplit("/", 1)[-1] or str(value)
    if key == "id":
        return f"against {value}"
    return f"{key} {value}"


def _differing(dicts: list[dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return [k for k in keys if len({repr(d.get(k)) for d in dicts}) > 1]


def unique_labels(conditions: list[Condition]) -> dict[Condition, str]:
    """A readable label per condition, unique among ``conditions``.

    A shifted condition is named by its shift alone when every shifted condition shows the same benchmark
    (``PGD L-inf 2/255``), else ``benchmark: shift``. Conditions that would share a label are told apart by what
    differs between them: the benchmark's parameters (``100 images``), the label space, the shift's parameters.

    Example:
        >>> a = Condition("factorworld(n=100, seed=0)", None, "native", {"name": "FactorWorld",
        ...               "benchmark_params": {"n": 100, "seed": 0}})
        >>> b = Condition("factorworld(n=1000, seed=0)", None, "native", {"name": "FactorWorld",
        ...               "benchmark_params": {"n": 1000, "seed": 0}})
        >>> sorted(unique_labels([a, b]).values())
        ['FactorWorld · 100-image split', 'FactorWorld · 1000-image split']

    """
    parts = {c: readable_parts(c) for c in conditions}
    shifted_bases = {base for base, shift in parts.values() if shift is not None}
    prefix = len(shifted_bases) > 1
    first: dict[Condition, str] = {}
    for c, (base, shift) in parts.items():
        first[c] = base if shift is None else (f"{base}: {shift}" if prefix else shift)
    groups: dict[str, list[Condition]] = defaultdict(list)
    for c in conditions:
        groups[first[c]].append(c)
    out: dict[Condition, str] = {}
    for label_, members in groups.items():
        if len(members) == 1:
            out[members[0]] = label_
            continue
        params = [dict(m.info.get("benchmark_params") or {}) for m in members]
        shift_params = [dict(m.info.get("shift_params") or {}) for m in members]
        spaces = [{"labels": m.label_space} for m in members]
        differ = _differing(params)
        differ_space = _differing(spaces)
        differ_shift = _differing(shift_params)
        for m, p, sp in zip(members, params, shift_params, strict=True):
            bits = [_qualifier(k, p.get(k)) for k in differ]
            bits += [f"{m.label_space} labels" for _ in differ_space]
            bits += [f"{k} {sp.get(k)}" for k in differ_shift]
            out[m] = label_ + (" · " + ", ".join(bits) if bits else "")
        seen: dict[str, int] = defaultdict(int)
        for m in members:  # still equal (e.g. a benchmark this installation does not know): number them
            seen[out[m]] += 1
            if sum(1 for x in members if out[x] == out[m]) > 1:
                out[m] = f"{out[m]} #{seen[out[m]]}"
    return out


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
        canonical: dict[Condition, Condition] = {}  # one instance per condition, so labels set below are seen
        for r in self.records:  # oldest first, so newer records overwrite
            key = (r.model, r.prompts)
            prompts_of[r.model].add(r.prompts)
            infos[key] = {**infos.get(key, {}), **(r.model_info or {})}
            cond = Condition(r.benchmark, r.shift, r.label_space, dict(condition_of(r)))
            cond = canonical.setdefault(cond, cond)
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
        for c, text_ in unique_labels(self.conditions).items():
            c.info["display_label"] = text_
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
