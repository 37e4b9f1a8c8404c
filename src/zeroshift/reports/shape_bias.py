"""Shape bias of stored models next to human observers (Geirhos et al. 2019; model-vs-human's raw data).

Model rows come from ``cue_conflict`` records (the ``shape_bias`` metric group, with its per-category details)
joined with the same model's ``edges`` and ``silhouettes`` accuracy. The human reference is computed from the
per-trial CSV files of the psychophysics experiments (columns ``subj, session, trial, rt, object_response,
category, condition, imagename``), laid out as ``<folder>/{cue-conflict,edge,silhouette}/*.csv``: a trial's shape is
its ``category``, its texture is parsed from ``imagename`` (``..._bird3-clock2.png`` -> ``clock``), and shape bias
uses the same definition as for models (:mod:`zeroshift.metrics.shape_bias`). Shape bias is reported pooled over
all trials and as the mean of the subjects' values; ``na`` responses hit neither cue.

Example:
    >>> texture_of_imagename("0002_s5n_s01_0_bird_00_bird2-clock3.png")
    'clock'

"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.shape_bias import ShapeTextureCounts, shape_texture_counts
from zeroshift.reports.base import latest, matches, model_key
from zeroshift.results.schema import RunRecord

HUMAN_COLUMNS = ("subj", "object_response", "category", "imagename")
#: human experiment folders: cue-conflict, and the two accuracy experiments
HUMAN_EXPERIMENTS = {"cue_conflict": "cue-conflict", "edges": "edge", "silhouettes": "silhouette"}


def texture_of_imagename(imagename: str) -> str:
    """The texture category in a stimulus name: the last ``-``-separated word of its last ``_`` part, digits dropped."""
    stem = imagename.rsplit("_", 1)[-1].split(".")[0]
    return "".join(ch for ch in stem.split("-")[-1] if not ch.isdigit())


def read_trials(folder: Path) -> list[dict[str, str]]:
    """Every trial of the CSV files in ``folder`` (sorted by file name)."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise UsageError(f"no human-response CSV files in {folder}")
    rows: list[dict[str, str]] = []
    for path in files:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in HUMAN_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}: not a human-response file (missing columns {', '.join(missing)})")
            rows.extend(reader)
    return rows


@dataclass
class HumanReference:
    """Human observers on the cue-conflict, edge and silhouette stimuli.

    Attributes:
        shape_bias: pooled over every trial of every subject.
        shape_bias_subject_mean: mean of the per-subject values.
        per_subject: subject -> shape bias.
        per_category: shape category -> shape bias (pooled).
        counts: pooled shape/texture counts.
        accuracy: experiment (``edges``, ``silhouettes``) -> fraction of trials naming the category.
        n_subjects: subjects in the cue-conflict experiment.
        source: the folder read.

    """

    shape_bias: float
    shape_bias_subject_mean: float
    per_subject: dict[str, float]
    per_category: dict[str, float]
    counts: dict[str, int]
    accuracy: dict[str, float] = field(default_factory=dict)
    n_subjects: int = 0
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _counts(trials: list[dict[str, str]]) -> ShapeTextureCounts:
    responses = np.asarray([t["object_response"] for t in trials])
    shapes = np.asarray([t["category"] for t in trials])
    textures = np.asarray([texture_of_imagename(t["imagename"]) for t in trials])
    return shape_texture_counts(responses, shapes, textures)


def human_reference(folder: str | Path) -> HumanReference:
    """Compute the human reference from ``folder`` (``cue-conflict/``, optionally ``edge/`` and ``silhouette/``).

    Raises:
        UsageError: the folder or its cue-conflict CSV files are missing or malformed.

    """
    root = Path(folder).expanduser()
    cue = root / HUMAN_EXPERIMENTS["cue_conflict"]
    if not cue.is_dir():
        raise UsageError(
            f"no human responses at {cue}; expected <folder>/cue-conflict/*.csv (and edge/, silhouette/) as in "
            "bethgelab/model-vs-human raw-data"
        )
    trials = read_trials(cue)
    pooled = _counts(trials)
    subjects = sorted({t["subj"] for t in trials})
    per_subject = {s: _counts([t for t in trials if t["subj"] == s]).shape_bias for s in subjects}
    categories = sorted({t["category"] for t in trials})
    per_category = {c: _counts([t for t in trials if t["category"] == c]).shape_bias for c in categories}
    accuracy = {}
    for key in ("edges", "silhouettes"):
        sub = root / HUMAN_EXPERIMENTS[key]
        if sub.is_dir():
            rows = read_trials(sub)
            accuracy[key] = float(np.mean([r["object_response"] == r["category"] for r in rows]))
    return HumanReference(
        pooled.shape_bias,
        float(np.mean(list(per_subject.values()))),
        per_subject,
        per_category,
        pooled.as_dict(),
        accuracy,
        len(subjects),
        str(root),
    )


@dataclass
class ModelShapeBias:
    """One model's shape bias (with interval), cue matches and accuracy on edges and silhouettes."""

    model: str
    prompts: str
    label_space: str
    shape_bias: float
    ci_low: float | None
    ci_high: float | None
    shape_match: float | None
    texture_match: float | None
    per_category: dict[str, Any]
    accuracy: dict[str, tuple[float, float | None, float | None]]
    n: int
    limited: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def model_shape_bias(records: list[RunRecord]) -> list[ModelShapeBias]:
    """Shape-bias rows of every (model, prompts, label space) with a ``cue_conflict`` record."""
    records = latest(records)
    extra: dict[tuple[str, str, str, str], RunRecord] = {}
    for r in records:
        for key in ("edges", "silhouettes", "cue_conflict"):
            if matches(r, key):
                extra[(*model_key(r), r.label_space, key)] = r
    rows = []
    for r in records:
        if not matches(r, "cue_conflict"):
            continue
        bias = r.metric("shape_bias")
        if bias is None:
            continue
        accuracy = {}
        for key in ("cue_conflict", "edges", "silhouettes"):
            other = extra.get((*model_key(r), r.label_space, key))
            top1 = other.metric("top1") if other else None
            if top1 is not None:
                accuracy[key] = (top1.value, top1.ci_low, top1.ci_high)
        match = {n: (m.value if (m := r.metric(n)) else None) for n in ("shape_match", "texture_match")}
        rows.append(
            ModelShapeBias(
                r.model,
                r.prompts,
                r.label_space,
                bias.value,
                bias.ci_low,
                bias.ci_high,
                match["shape_match"],
                match["texture_match"],
                dict(bias.details.get("per_category", {})),
                accuracy,
                int(bias.details.get("n", 0)),
                bool(r.config.get("limit")),
            )
        )
    return rows
