"""Suites: YAML presets that expand into many runs (benchmarks x shifts), shipped in ``zeroshift/presets``.

A suite file names default ``benchmarks`` (the CLI's ``--benchmark`` replaces them), a list of ``shifts`` (``null``
is the clean condition) and optionally ``metrics``, ``label_space``, ``prompts`` (a list of prompt sets: an
experimental axis) and ``models`` (default models, used by ``zeroshift demo``); ``runs`` lists further runs, each
with optional ``benchmark`` (without one, the entry runs on every chosen benchmark), ``shift``, ``label_space``,
``metrics`` and ``prompts``.
A shift written as a mapping with list values expands to the product of those values::

    shifts:
      - null
      - {name: corruption, params: {name: [fog, snow], severity: [1, 2, 3, 4, 5]}}

Example:
    >>> expand_shift({"name": "corruption", "params": {"name": ["fog", "snow"], "severity": [1, 2]}})[:2]
    ["corruption(name='fog', severity=1)", "corruption(name='fog', severity=2)"]

"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zeroshift.errors import SpecError
from zeroshift.registry import suggest
from zeroshift.specs import CallSpec


@dataclass(frozen=True)
class SuiteRun:
    """One run of a suite (the model comes from the command line)."""

    benchmark: str
    shift: str | None
    label_space: str | None
    metrics: tuple[str, ...] | None
    prompts: tuple[str, ...] | None = None
    #: models of this run only (a run's ``models:``), instead of the command's (e.g. the LMM steps of the demo)
    models: tuple[str, ...] | None = None


def expand_shift(entry: Any) -> list[str | None]:
    """Expand one ``shifts`` entry (None, a spec string, or a mapping with list-valued params)."""
    if entry is None or entry in ("none", "clean"):
        return [None]
    if isinstance(entry, str):
        return [CallSpec.parse(entry).canonical]
    if isinstance(entry, dict) and "name" in entry:
        params = entry.get("params", {}) or {}
        keys = sorted(params)
        grids = [v if isinstance(v, list) else [v] for v in (params[k] for k in keys)]
        return [
            CallSpec.make(entry["name"], **dict(zip(keys, combo, strict=True))).canonical
            for combo in itertools.product(*grids)
        ]
    raise SpecError(f"cannot read suite shift entry {entry!r}")


def suite_names() -> list[str]:
    """Names of the suites shipped with zeroshift."""
    folder = resources.files("zeroshift") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_suite(name_or_path: str) -> dict[str, Any]:
    """Read a suite by name (shipped preset) or path (a user's YAML file)."""
    if name_or_path in suite_names():
        text = (resources.files("zeroshift") / "presets" / f"{name_or_path}.yaml").read_text(encoding="utf-8")
    elif Path(name_or_path).is_file():
        text = Path(name_or_path).read_text(encoding="utf-8")
    else:
        raise SpecError(
            f"unknown suite {name_or_path!r}"
            + (suggest(name_or_path, suite_names()) or f"; known suites: {', '.join(suite_names())}")
        )
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise SpecError(f"suite {name_or_path!r}: expected a mapping")
    return data


def expand_suite(name_or_path: str, benchmarks: list[str] | None = None) -> list[SuiteRun]:
    """The runs of a suite; ``benchmarks`` replaces the suite's default benchmarks."""
    suite = load_suite(name_or_path)
    chosen = benchmarks or suite.get("benchmarks") or []
    if not chosen and not suite.get("runs"):
        raise SpecError(f"suite {name_or_path!r} has no default benchmarks; give --benchmark")
    shifts = [s for entry in (suite.get("shifts") or [None]) for s in expand_shift(entry)]
    metrics = tuple(suite["metrics"]) if suite.get("metrics") else None
    prompts = _prompt_list(suite.get("prompts"))
    runs = [
        SuiteRun(CallSpec.parse(b).canonical, s, suite.get("label_space"), metrics, prompts)
        for b in chosen
        for s in shifts
    ]
    for entry in suite.get("runs", []) or []:
        # an entry without a benchmark runs on each chosen benchmark (e.g. a clean run with extra metrics)
        for bench in [entry["benchmark"]] if entry.get("benchmark") else chosen:
            for shift in expand_shift(entry.get("shift")):
                runs.append(
                    SuiteRun(
                        CallSpec.parse(bench).canonical,
                        shift,
                        entry.get("label_space"),
                        tuple(entry["metrics"]) if entry.get("metrics") else metrics,
                        _prompt_list(entry.get("prompts")) or prompts,
                        tuple(str(m) for m in entry["models"]) if entry.get("models") else None,
                    )
                )
    return runs


def _prompt_list(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def suite_models(name_or_path: str) -> list[str]:
    """The default models a suite names (``models:``; empty when it names none)."""
    return [str(m) for m in load_suite(name_or_path).get("models") or []]
