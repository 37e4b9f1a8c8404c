"""Sweep plans: a YAML file naming models and suites (and the protocol options every run of the sweep shares).

A plan is a mapping with these keys (only ``models`` and ``suites`` are required)::

    models:                       # model specs, "zoo:*" (every zoo model) and catalogue selections
      - open_clip:ViT-B-32@laion2b_s34b_b79k
      - zoo:*
      - catalogue: {filter: {training_data: LAION-2B}, preset: null}
    suites:                       # shipped suite names or YAML files (relative to the plan's folder)
      - natural_shifts
      - my_suite.yaml
      - {suite: calibration, benchmarks: [imagenet]}   # a suite on other benchmarks (as --suite with -b)
    prompts: [openai, simple]     # replaces the suites' prompt sets
    metrics: [accuracy]           # metric groups for runs whose suite names none
    metric_params: {calibration: {n_bins: 20}}         # or a list of "group.key=value"
    label_space: null             # the benchmarks' defaults
    limit: null                   # a seeded subset of N samples per condition
    seed: 0
    bootstrap: 1000

Any other key, or a wrong type, is refused with one line naming it, before any work
(``src/zeroshift/presets/plans/example.yaml`` is a commented example; ``zeroshift sweep example`` runs it).

Example:
    >>> plan = parse_plan({"models": ["zoo:sup-cnn-tiny"], "suites": ["calibration"], "limit": 8})
    >>> plan.model_specs(), plan.limit, plan.suites[0].suite
    (['zoo:sup-cnn-tiny'], 8, 'calibration')
    >>> try:
    ...     parse_plan({"models": ["zoo:sup-cnn-tiny"], "suites": ["calibration"], "limits": 8})
    ... except UsageError as err:
    ...     print(err)
    plan: unknown key 'limits'; did you mean 'limit'?

"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zeroshift.errors import SpecError, UsageError
from zeroshift.registry import suggest
from zeroshift.suites import SuiteRun, expand_suite, suite_names
from zeroshift.sweep.catalogue import resolve_catalogue

#: the keys a plan may have
PLAN_KEYS = ("models", "suites", "prompts", "metrics", "metric_params", "label_space", "limit", "seed", "bootstrap")
#: the keys of a ``catalogue:`` model entry
CATALOGUE_KEYS = ("filter", "preset")
#: the keys of a suite given as a mapping
SUITE_KEYS = ("suite", "benchmarks")


@dataclass(frozen=True)
class CatalogueSelection:
    """A ``catalogue:`` entry of a plan's models: metadata filters within an optional preset population."""

    filter: Mapping[str, Any] = field(default_factory=dict)
    preset: str | None = None

    def specs(self) -> list[str]:
        """The model specs selected (UsageError when the catalogue is not installed, for an unknown filter key or
        preset, and for a selection that matches no model: a plan never runs a smaller population silently).
        """
        specs = resolve_catalogue(self.filter, self.preset)
        if not specs:
            what = ", ".join(f"{k}={v!r}" for k, v in self.filter.items())
            within = f" in preset {self.preset!r}" if self.preset else ""
            raise UsageError(f"the catalogue selection {{{what}}}{within} matches no model")
        return specs


@dataclass(frozen=True)
class SuiteEntry:
    """A suite of a plan: a shipped name or a YAML file, optionally on other benchmarks than its defaults."""

    suite: str
    benchmarks: tuple[str, ...] | None = None

    def runs(self) -> list[SuiteRun]:
        """The suite's runs (as ``zeroshift run --suite`` expands them)."""
        return expand_suite(self.suite, list(self.benchmarks) if self.benchmarks else None)


@dataclass(frozen=True)
class SweepPlan:
    """A parsed plan (see the module docstring)."""

    models: tuple[str | CatalogueSelection, ...]
    suites: tuple[SuiteEntry, ...]
    prompts: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    metric_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    label_space: str | None = None
    limit: int | None = None
    seed: int = 0
    bootstrap: int | None = None
    source: str = "plan"
    digest: str = ""

    def model_specs(self) -> list[str]:
        """Every model of the plan in order, each once: explicit specs, ``zoo:*`` expanded, catalogue selections."""
        out: list[str] = []
        for entry in self.models:
            if isinstance(entry, CatalogueSelection):
                try:
                    out.extend(entry.specs())
                except UsageError as err:
                    raise UsageError(f"{self.source}: models: {err}") from None
            elif entry == "zoo:*":
                from zeroshift.models.zoo import ZooModel

                out.extend(f"zoo:{name}" for name in ZooModel.names())
            else:
                out.append(entry)
        return list(dict.fromkeys(out))

    def runs(self) -> list[SuiteRun]:
        """The runs of every suite, in order (a missing suite raises one line naming the plan)."""
        runs: list[SuiteRun] = []
        for entry in self.suites:
            try:
                runs.extend(entry.runs())
            except SpecError as err:
                raise SpecError(f"{self.source}: {err}") from None
        return runs


def _fail(source: str, message: str) -> UsageError:
    return UsageError(f"{source}: {message}")


def _check_keys(source: str, where: str, given: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in given:
        if key not in known:
            place = f" in {where}" if where else ""
            hint = suggest(str(key), list(known)) or f"; known keys: {', '.join(known)}"
            raise _fail(source, f"unknown key {key!r}{place}{hint}")


def _strings(source: str, key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _fail(source, f"{key} must be a name or a list of names, got {value!r}")


def _model_entry(source: str, entry: Any) -> str | CatalogueSelection:
    if isinstance(entry, str) and entry.strip():
        from zeroshift.specs import ModelSpec

        if entry.strip() == "zoo:*":
            return "zoo:*"
        try:
            return str(ModelSpec.parse(entry.strip()))
        except SpecError as err:
            raise _fail(source, f"models: {err}") from None
    if isinstance(entry, dict) and set(entry) == {"catalogue"}:
        selection = entry["catalogue"] or {}
        if not isinstance(selection, dict):
            raise _fail(source, f"models: a catalogue entry is a mapping with {' and '.join(CATALOGUE_KEYS)}")
        _check_keys(source, "a catalogue entry", selection, CATALOGUE_KEYS)
        filters = selection.get("filter") or {}
        preset = selection.get("preset")
        if not isinstance(filters, dict) or not all(isinstance(k, str) for k in filters):
            raise _fail(source, f"models: catalogue filter must map metadata keys to values, got {filters!r}")
        if preset is not None and not isinstance(preset, str):
            raise _fail(source, f"models: catalogue preset must be a name, got {preset!r}")
        if not filters and preset is None:
            raise _fail(source, "models: a catalogue entry needs a filter or a preset")
        return CatalogueSelection(dict(filters), preset)
    raise _fail(source, f"models: expected a model spec or {{catalogue: {{filter: ..., preset: ...}}}}, got {entry!r}")


def _suite_entry(source: str, entry: Any, folder: Path | None) -> SuiteEntry:
    if isinstance(entry, dict):
        _check_keys(source, "a suite entry", entry, SUITE_KEYS)
        if not isinstance(entry.get("suite"), str):
            raise _fail(source, f"suites: a suite entry needs suite: NAME_OR_FILE, got {entry!r}")
        benchmarks = _strings(source, "suites: benchmarks", entry.get("benchmarks"))
        name = entry["suite"]
    elif isinstance(entry, str) and entry.strip():
        name, benchmarks = entry.strip(), None
    else:
        raise _fail(source, f"suites: expected a suite name, a YAML file or {{suite: ..., benchmarks: [...]}}, got "
                            f"{entry!r}")  # fmt: skip
    if name not in suite_names() and folder is not None and not Path(name).is_absolute():
        beside = folder / name
        if beside.is_file():  # a suite file next to the plan
            name = str(beside)
    return SuiteEntry(name, benchmarks)


def _integer(source: str, key: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, f"{key} must be an integer of at least {minimum}, got {value!r}")
    return value


def parse_plan(data: Any, source: str = "plan", folder: Path | None = None) -> SweepPlan:
    """A plan from its parsed YAML (``source`` names it in errors; suite files are looked up next to ``folder``)."""
    if not isinstance(data, dict):
        raise _fail(source, "a plan is a mapping with models: and suites:")
    _check_keys(source, "", data, PLAN_KEYS)
    for key in ("models", "suites"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise _fail(source, f"{key}: expected a non-empty list")
    models = tuple(_model_entry(source, m) for m in data["models"])
    suites = tuple(_suite_entry(source, s, folder) for s in data["suites"])
    params = data.get("metric_params") or {}
    if isinstance(params, list):
        from zeroshift.cli.options import parse_group_params

        params = parse_group_params([str(p) for p in params])
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise _fail(source, f"metric_params must map groups to {{key: value}}, got {params!r}")
    label_space = data.get("label_space")
    if label_space is not None and not isinstance(label_space, str):
        raise _fail(source, f"label_space must be a name, got {label_space!r}")
    canonical = json.dumps(data, sort_keys=True, default=str)
    return SweepPlan(
        models=models,
        suites=suites,
        prompts=_strings(source, "prompts", data.get("prompts")),
        metrics=_strings(source, "metrics", data.get("metrics")),
        metric_params={k: dict(v) for k, v in params.items()},
        label_space=label_space,
        limit=_integer(source, "limit", data.get("limit"), 1),
        seed=_integer(source, "seed", data.get("seed"), 0) or 0,
        bootstrap=_integer(source, "bootstrap", data.get("bootstrap"), 0),
        source=source,
        digest=hashlib.sha256(canonical.encode()).hexdigest()[:16],
    )


def plan_names() -> list[str]:
    """Names of the plans shipped with zeroshift (``presets/plans/*.yaml``)."""
    from importlib import resources

    folder = resources.files("zeroshift") / "presets" / "plans"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_plan(path: str | Path) -> SweepPlan:
    """Read a plan file, or a shipped plan by name (one line naming the file for anything wrong with it)."""
    path = Path(path)
    if not path.is_file() and str(path) in plan_names():
        from importlib import resources

        path = Path(str(resources.files("zeroshift") / "presets" / "plans" / f"{path}.yaml"))
    source = f"plan {path}"
    if not path.is_file():
        hint = suggest(str(path), plan_names()) or f"; shipped plans: {', '.join(plan_names())}"
        raise UsageError(f"{source}: no such file{hint}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise _fail(source, f"not valid YAML ({' '.join(str(err).split())})") from None
    return parse_plan(data, source, path.resolve().parent)


__all__ = ["CatalogueSelection", "PLAN_KEYS", "SuiteEntry", "SweepPlan", "parse_plan", "plan_names", "read_plan"]
