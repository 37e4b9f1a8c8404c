"""The model populations as data: a catalogue of CLIP models and ImageNet classifiers, filters and presets.

The catalogue is read from data files under ``_info/`` (``open_clip.csv`` and ``timm.csv`` are regenerated
by ``python -m zeroshift.catalogue.refresh``; ``hf.csv`` is written by hand from the model cards). Each entry
joins the facts of its file (spec, architecture, parameters, samples seen, tags, source) with the training
facts of ``zeroshift/models/_info/training_data.csv`` (training data, data size, loss, fine-tuning: the same
lookup model loading uses, so the two never disagree) and the family of ``models/_info/families.csv``.
Every entry names its sources: the catalogue row's own (model card, release notes) and the paper of its
training data (``_info/training_sources.csv``).

Filters (:mod:`zeroshift.catalogue.filters`) select entries, e.g. ``training_data=LAION-2B``,
``loss=sigmoid``, ``data_size>=1e9``, ``population=supervised``; presets (``_info/presets.yaml``) name the
populations of the studies this project implements.

Example:
    >>> specs = select_specs({"training_data": "LAION-2B", "architecture": "ViT-B-32"})
    >>> "open_clip:ViT-B-32@laion2b_s34b_b79k" in specs
    True
    >>> len(select_specs(preset="openai_clip"))
    9
    >>> select_specs({"los": "sigmoid"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zeroshift.errors.UsageError: catalogue filter: unknown key 'los'; did you mean 'loss'?; known keys: ...

"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zeroshift.catalogue.facts import family_of, lookup_training
from zeroshift.catalogue.filters import FIELDS, Condition, conditions_from_mapping, parse_condition
from zeroshift.errors import UsageError
from zeroshift.registry import suggest

__all__ = [
    "FIELDS",
    "CatalogueEntry",
    "Condition",
    "Preset",
    "load_catalogue",
    "parse_condition",
    "preset_names",
    "load_preset",
    "select",
    "select_specs",
]

#: Where the training facts of every entry come from (besides the paper of its training data).
TRAINING_FACTS = "zeroshift/models/_info/training_data.csv"


@dataclass(frozen=True)
class CatalogueEntry:
    """One model of a population, with the facts the six-factor analyses and the sweep plans select on.

    Example:
        >>> e = next(e for e in load_catalogue() if e.spec == "open_clip:ViT-B-32@laion2b_s34b_b79k")
        >>> e.population, e.family, e.loss, e.samples_seen, e.params
        ('clip', 'ViT', 'contrastive', 34000000000, 151280000)

    """

    spec: str
    population: str  # "clip" (image-text models) or "supervised" (ImageNet classifiers)
    backend: str
    architecture: str
    family: str
    params: int | None
    training_data: str | None
    data_size: int | None
    samples_seen: int | None
    loss: str | None
    fine_tuned: bool | None
    tags: tuple[str, ...]
    sources: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The entry as a plain dict (tags and sources as lists), e.g. for JSON output."""
        out = asdict(self)
        out["tags"], out["sources"] = list(self.tags), list(self.sources)
        return out


def _read(name: str) -> list[dict[str, str]]:
    text = (resources.files("zeroshift.catalogue") / "_info" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _int(text: str) -> int | None:
    return int(round(float(text))) if text.strip() else None


@cache
def _training_sources() -> dict[str, str]:
    return {r["training_data"]: r["url"] for r in _read("training_sources.csv")}


def _entry(row: dict[str, str], population: str, backend: str, key: str) -> CatalogueEntry:
    facts = lookup_training(backend, key)
    params_m = row.get("params_m", "")
    sources = [row["source"]]
    if facts.get("training_data"):
        sources.append(_training_sources().get(facts["training_data"], TRAINING_FACTS))
    return CatalogueEntry(
        spec=row["spec"],
        population=population,
        backend=backend,
        architecture=row["architecture"],
        family=family_of(row["architecture"]),
        params=int(round(float(params_m) * 1e6)) if params_m else None,
        training_data=facts.get("training_data"),
        data_size=facts.get("data_size"),
        samples_seen=_int(row.get("samples_seen", "")),
        loss=facts.get("loss"),
        fine_tuned=facts.get("fine_tuned"),
        tags=tuple(row.get("tags", "").split()),
        sources=tuple(dict.fromkeys(sources)),
    )


@cache
def load_catalogue() -> tuple[CatalogueEntry, ...]:
    """Every catalogue entry: open_clip and Hugging Face CLIP models, then timm ImageNet-1k classifiers.

    Example:
        >>> {e.population for e in load_catalogue()} == {"clip", "supervised"}
        True

    """
    entries = []
    for row in _read("open_clip.csv"):
        entries.append(_entry(row, "clip", "open_clip", row["spec"].removeprefix("open_clip:")))
    for row in _read("hf.csv"):
        entries.append(_entry(row, "clip", "hf", row["spec"].removeprefix("hf:")))
    for row in _read("timm.csv"):
        entries.append(_entry(row, "supervised", "timm", row["spec"].removeprefix("timm:")))
    return tuple(entries)


@dataclass(frozen=True)
class Preset:
    """A named population: filters, explicit specs added or removed, and what the public catalogues lack.

    Example:
        >>> load_preset("openai_clip").paper_size
        9

    """

    name: str
    description: str
    conditions: tuple[Condition, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    paper_size: int | None
    missing: str


@cache
def _presets() -> dict[str, dict[str, Any]]:
    text = (resources.files("zeroshift.catalogue") / "_info" / "presets.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def preset_names() -> list[str]:
    """Names of the shipped presets.

    Example:
        >>> "testbed" in preset_names()
        True

    """
    return list(_presets())


def load_preset(name: str) -> Preset:
    """The preset ``name``; an unknown name is a :class:`UsageError` with a suggestion."""
    raw = _presets().get(name)
    if raw is None:
        raise UsageError(
            f"catalogue preset: unknown preset {name!r}{suggest(name, preset_names())}; "
            f"known presets: {', '.join(preset_names())}"
        )
    conditions: list[Condition] = []
    for text in raw.get("filters", []):
        conditions.append(parse_condition(text))
    return Preset(
        name=name,
        description=str(raw.get("description", "")),
        conditions=tuple(conditions),
        include=tuple(raw.get("include", [])),
        exclude=tuple(raw.get("exclude", [])),
        paper_size=raw.get("paper_size"),
        missing=str(raw.get("missing", "")),
    )


def select(
    conditions: Sequence[Condition | str] = (),
    preset: str | None = None,
    entries: Sequence[CatalogueEntry] | None = None,
) -> list[CatalogueEntry]:
    """The entries meeting every condition (and the preset's, when one is named), in catalogue order.

    Conditions are :class:`Condition` objects or strings such as ``"data_size>=1e9"``.

    Example:
        >>> [e.spec for e in select(["population=supervised", "tag=testbed:resnet50"])]
        ['timm:resnet50.tv_in1k']

    """
    pool = list(load_catalogue() if entries is None else entries)
    parsed = [c if isinstance(c, Condition) else parse_condition(c) for c in conditions]
    include: tuple[str, ...] = ()
    if preset is not None:
        p = load_preset(preset)
        parsed = list(p.conditions) + parsed
        include = p.include
        pool = [e for e in pool if e.spec not in p.exclude]
    chosen = [e for e in pool if all(c.matches(e) for c in parsed) or e.spec in include]
    return chosen


def select_specs(filters: Mapping[str, Any] | None = None, preset: str | None = None) -> list[str]:
    """The model specs a plan's ``catalogue:`` entry selects: filters as a mapping, and/or a preset.

    A filter value is a number, a boolean, a string (shell-style wildcards allowed, case-insensitive),
    a string starting with a comparison (``">=1e9"``, ``"!=sigmoid"``) or a list of alternatives. An unknown
    key, a value of the wrong form or an unknown preset is a :class:`UsageError` naming it with a suggestion.

    Example:
        >>> select_specs({"loss": "sigmoid", "backend": "hf", "architecture": "ViT-B-16-SigLIP"})
        ['hf:google/siglip-base-patch16-224']
        >>> select_specs(preset="tetsbed")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: catalogue preset: unknown preset 'tetsbed'; did you mean 'testbed'?...

    """
    conditions = conditions_from_mapping(filters or {})
    return [e.spec for e in select(conditions, preset)]
