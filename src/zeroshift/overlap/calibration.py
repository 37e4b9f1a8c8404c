"""Threshold calibration: plant near-duplicates of corpus images among distractors, and measure the flag's
precision and recall across thresholds, with and without the pHash confirmation, overall and per kind of copy.

The protocol (recorded in :attr:`CalibrationReport.protocol`):

* **sources**: ``n_sources`` corpus images drawn with a seed among those in the index;
* **copies**: each source through every plant of ``_info/plants.yaml`` (JPEG at several qualities, resized,
  resized and re-encoded, cropped, mirrored, colour-jittered);
* **distractors**: images known to be absent from the corpus (another folder, held-out photos);
* each copy and distractor is embedded by the index's model and searched in the index (top 1). A copy is a
  positive, a distractor a negative; the flag at threshold ``t`` is ``cosine >= t`` (and ``hamming <= h`` with the
  pHash confirmation). **Recall** is the share of copies flagged, **FPR** the share of distractors flagged,
  **precision** the flagged copies among everything flagged (it depends on the copy/distractor ratio, recorded),
  **pair precision** the flagged copies whose neighbour is their own source.
* :func:`choose_threshold` picks, among thresholds where the required groups (re-encoded and resized copies)
  reach ``min_recall`` and the FPR is at most ``max_fpr``, the one in the middle of that feasible interval, so it
  sits as far from both failure modes as the measurement allows; the interval is recorded with it.

Example:
    >>> cos = np.array([0.99, 0.97, 0.90, 0.80, 0.93])
    >>> curve = calibration_curve(cos, np.array([1, 1, 1, 0, 0], bool), np.array([1, 1, 1, 0, 0], bool),
    ...                           ["jpeg75", "resize0.5", "crop0.75", "", ""], np.array([0.9, 0.95]))
    >>> curve.recall.tolist(), curve.fpr.tolist(), curve.recall_by_group["resized"].tolist()
    ([1.0, 0.6666666666666666], [0.5, 0.0], [1.0, 1.0])

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from zeroshift.errors import UsageError
from zeroshift.overlap.corpus import ImageCorpus
from zeroshift.overlap.features import Embedder, unit_rows
from zeroshift.overlap.hashes import PHASH_PROTOCOL, hamming, phash64
from zeroshift.overlap.index import OverlapIndex
from zeroshift.overlap.plants import Plant, load_plants, required_recall

#: the thresholds scanned by default
DEFAULT_THRESHOLDS = np.round(np.arange(0.80, 1.0 + 1e-9, 0.0025), 4)
#: the pHash confirmation measured by default (Hamming bits of 64; imagededup's default ``max_distance_threshold``)
DEFAULT_MAX_HAMMING = 10


@dataclass
class Planted:
    """Near-duplicate copies: the copy images, the source each comes from, and its plant and group."""

    images: list[Image.Image]
    source: np.ndarray
    plant: list[str]
    group: list[str]


def plant_copies(images: Sequence[Image.Image], plants: Sequence[Plant] | None = None, seed: int = 0) -> Planted:
    """Every image through every plant (plant-major order), with a seeded generator for random parameters.

    Example:
        >>> out = plant_copies([Image.new("RGB", (8, 8))] * 2, load_plants(["jpeg90", "flip"]))
        >>> out.source.tolist(), out.plant
        ([0, 1, 0, 1], ['jpeg90', 'jpeg90', 'flip', 'flip'])

    """
    plants = list(plants) if plants is not None else load_plants()
    rng = np.random.default_rng(seed)
    copies, source, names, groups = [], [], [], []
    for plant in plants:
        for i, image in enumerate(images):
            copies.append(plant.apply(image, rng))
            source.append(i)
            names.append(plant.name)
            groups.append(plant.group)
    return Planted(copies, np.asarray(source, dtype=np.int64), names, groups)


@dataclass
class CalibrationCurve:
    """The flag's rates at each threshold (see the module docstring for the definitions).

    Attributes:
        thresholds: the cosine thresholds.
        precision: flagged copies / flagged samples (NaN where nothing is flagged).
        recall: flagged copies / copies.
        fpr: flagged distractors / distractors.
        pair_precision: flagged copies whose neighbour is their source / flagged copies.
        recall_by_plant: recall per plant name.
        recall_by_group: recall per plant group.
        n_copies: copies (positives).
        n_distractors: distractors (negatives).
        max_hamming: the pHash confirmation (None: embedding only).

    """

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    fpr: np.ndarray
    pair_precision: np.ndarray
    recall_by_plant: dict[str, np.ndarray]
    recall_by_group: dict[str, np.ndarray]
    n_copies: int
    n_distractors: int
    max_hamming: int | None = None

    def at(self, threshold: float) -> dict[str, Any]:
        """The rates at the scanned threshold nearest to ``threshold``."""
        k = int(np.argmin(np.abs(self.thresholds - threshold)))
        return {
            "threshold": float(self.thresholds[k]),
            "precision": _num(self.precision[k]),
            "recall": _num(self.recall[k]),
            "fpr": _num(self.fpr[k]),
            "pair_precision": _num(self.pair_precision[k]),
            "recall_by_group": {g: _num(v[k]) for g, v in self.recall_by_group.items()},
            "recall_by_plant": {p: _num(v[k]) for p, v in self.recall_by_plant.items()},
        }

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per threshold (for CSV and tables)."""
        out = []
        for k, t in enumerate(self.thresholds):
            row = {"threshold": float(t), "max_hamming": self.max_hamming, "precision": _num(self.precision[k]),
                   "recall": _num(self.recall[k]), "fpr": _num(self.fpr[k]),
                   "pair_precision": _num(self.pair_precision[k])}  # fmt: skip
            row.update({f"recall_{g}": _num(v[k]) for g, v in self.recall_by_group.items()})
            row.update({f"recall_{p}": _num(v[k]) for p, v in self.recall_by_plant.items()})
            out.append(row)
        return out


def _num(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def calibration_curve(
    nn_cosine: np.ndarray,
    is_copy: np.ndarray,
    nn_is_source: np.ndarray,
    plant: Sequence[str],
    thresholds: np.ndarray = DEFAULT_THRESHOLDS,
    distances: np.ndarray | None = None,
    max_hamming: int | None = None,
    groups: Sequence[str] | None = None,
) -> CalibrationCurve:
    """Rates of the flag at each threshold from top-1 search results (see the module docstring).

    Args:
        nn_cosine: each query's nearest cosine.
        is_copy: whether the query is a planted copy (else a distractor).
        nn_is_source: whether the nearest neighbour is the copy's source.
        plant: each copy's plant name (anything for distractors).
        thresholds: cosine thresholds to scan.
        distances: pHash Hamming distances to the nearest neighbour (for the confirmation).
        max_hamming: the pHash confirmation (None: embedding only).
        groups: each copy's plant group (default: looked up in plants.yaml by plant name).

    """
    cos = np.nan_to_num(np.asarray(nn_cosine, dtype=np.float64), nan=-np.inf)
    copy = np.asarray(is_copy, dtype=bool)
    right = np.asarray(nn_is_source, dtype=bool)
    if not copy.any() or copy.all():
        raise UsageError("calibration needs both planted copies and distractors")
    t = np.asarray(thresholds, dtype=np.float64)
    flagged = cos[None, :] >= t[:, None]
    if max_hamming is not None:
        if distances is None:
            raise UsageError("the pHash confirmation needs the Hamming distances")
        d = np.asarray(distances)
        flagged &= ((d >= 0) & (d <= max_hamming))[None, :]
    tp = (flagged & copy).sum(axis=1)
    fp = (flagged & ~copy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        pair = np.where(tp > 0, (flagged & copy & right).sum(axis=1) / tp, np.nan)
    names = np.asarray(plant, dtype=object)
    if groups is None:
        lookup = {p.name: p.group for p in load_plants()}
        groups = [lookup.get(str(n), "") if c else "" for n, c in zip(names, copy, strict=True)]
    group_arr = np.asarray(groups, dtype=object)

    def recall_of(mask: np.ndarray) -> np.ndarray:
        return flagged[:, mask].mean(axis=1) if mask.any() else np.full(len(t), np.nan)

    by_plant = {str(p): recall_of(copy & (names == p)) for p in dict.fromkeys(names[copy])}
    by_group = {str(g): recall_of(copy & (group_arr == g)) for g in dict.fromkeys(group_arr[copy])}
    return CalibrationCurve(t, precision, tp / copy.sum(), fp / (~copy).sum(), pair, by_plant, by_group,
                            int(copy.sum()), int((~copy).sum()), max_hamming)  # fmt: skip


def choose_threshold(
    curve: CalibrationCurve,
    groups: Sequence[str] | None = None,
    min_recall: float | None = None,
    max_fpr: float | None = None,
) -> dict[str, Any]:
    """The threshold in the middle of the feasible interval (required groups' recall at least ``min_recall``, FPR
    at most ``max_fpr``; defaults from plants.yaml), with its measured rates; ``threshold`` is None when no scanned
    threshold is feasible.

    Example:
        >>> cos = np.array([0.99, 0.98, 0.97, 0.90])
        >>> curve = calibration_curve(cos, np.array([1, 1, 0, 0], bool), np.array([1, 1, 0, 0], bool),
        ...                           ["jpeg90", "resize0.5", "", ""], np.array([0.96, 0.97, 0.975, 0.98, 0.99]))
        >>> choose_threshold(curve, min_recall=0.95, max_fpr=0.01)["feasible"]
        [0.975, 0.98]

    """
    req = required_recall()
    groups = list(groups if groups is not None else req["groups"])
    min_recall = float(min_recall if min_recall is not None else req["min_recall"])
    max_fpr = float(max_fpr if max_fpr is not None else req["max_fpr"])
    missing = [g for g in groups if g not in curve.recall_by_group]
    if missing:
        raise UsageError(f"the calibration has no copies of group(s) {', '.join(missing)}")
    ok = curve.fpr <= max_fpr
    for g in groups:
        ok &= np.nan_to_num(curve.recall_by_group[g], nan=0.0) >= min_recall
    out: dict[str, Any] = {"requirement": {"groups": groups, "min_recall": min_recall, "max_fpr": max_fpr},
                           "max_hamming": curve.max_hamming}  # fmt: skip
    if not ok.any():
        return {**out, "threshold": None, "feasible": None}
    feasible = curve.thresholds[ok]
    lo, hi = float(feasible.min()), float(feasible.max())
    middle = feasible[int(np.argmin(np.abs(feasible - (lo + hi) / 2)))]
    return {**out, "threshold": float(middle), "feasible": [lo, hi], "measured": curve.at(float(middle))}


@dataclass
class CalibrationReport:
    """Curves without and with the pHash confirmation, the chosen thresholds and the protocol."""

    curves: dict[str, CalibrationCurve]
    chosen: dict[str, dict[str, Any]]
    protocol: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: protocol, chosen thresholds, and every curve's rows."""
        return {"protocol": self.protocol, "chosen": self.chosen,
                "curves": {name: c.rows() for name, c in self.curves.items()}}  # fmt: skip


def calibrate(
    index: OverlapIndex,
    corpus: ImageCorpus,
    embed: Embedder,
    distractors: Sequence[Image.Image],
    *,
    n_sources: int = 200,
    plants: Sequence[Plant] | None = None,
    seed: int = 0,
    thresholds: np.ndarray = DEFAULT_THRESHOLDS,
    max_hamming: int | None = DEFAULT_MAX_HAMMING,
    batch: int = 256,
) -> CalibrationReport:
    """Plant copies of ``n_sources`` indexed corpus images among ``distractors`` and measure the flag.

    Args:
        index: the corpus's index (its model must be the embedder's).
        corpus: the image corpus the index was built from (the sources are decoded from it).
        embed: the embedder of the index's model.
        distractors: images known to be absent from the corpus.
        n_sources: how many corpus images get copies (drawn with ``seed``).
        plants: the copies made of each (default: every plant of plants.yaml).
        seed: seed of the source draw and of the plants' random parameters.
        thresholds: the cosine thresholds scanned.
        max_hamming: the pHash confirmation measured besides the embedding-only flag (None: skip it; it is also
            skipped when the index holds no hashes).
        batch: images per ``embed`` call.

    """
    index.require_model(embed.model)
    if not distractors:
        raise UsageError("calibration needs distractor images (images known to be absent from the corpus)")
    position = {k: i for i, k in enumerate(corpus.keys())}
    indexed = np.array(sorted(position[k] for k in index.keys if k in position), dtype=np.int64)
    if len(indexed) == 0:
        raise UsageError(
            f"no key of the index {index.folder} is in the corpus given; pass the corpus it was built from"
        )
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(indexed, size=min(n_sources, len(indexed)), replace=False))
    sources = [corpus.load(int(p))[0] for p in picks]
    planted = plant_copies(sources, plants, seed)
    queries = planted.images + list(distractors)
    rows = [unit_rows(embed(queries[s : s + batch]))[0] for s in range(0, len(queries), batch)]
    cos, ids = index.search(np.concatenate(rows), 1)
    key_of = np.asarray(index.keys + [""], dtype=object)[np.where(ids[:, 0] >= 0, ids[:, 0], index.size)]
    corpus_keys = corpus.keys()
    source_key = [corpus_keys[int(picks[s])] for s in planted.source] + [""] * len(distractors)
    is_copy = np.r_[np.ones(len(planted.images), bool), np.zeros(len(distractors), bool)]
    right = is_copy & (key_of == np.asarray(source_key, dtype=object))
    names = planted.plant + [""] * len(distractors)
    groups = planted.group + [""] * len(distractors)
    curves = {"embedding": calibration_curve(cos[:, 0], is_copy, right, names, thresholds, groups=groups)}
    if max_hamming is not None and index.phashes is not None:
        distances = np.where(ids[:, 0] >= 0, hamming(phash64(queries), index.phash_of(ids[:, 0])), -1)
        curves["embedding+phash"] = calibration_curve(cos[:, 0], is_copy, right, names, thresholds, distances,
                                                      max_hamming, groups)  # fmt: skip
    chosen = {name: choose_threshold(c) for name, c in curves.items()}
    protocol = {
        "model": index.model.as_dict(),
        "index": index.describe(),
        "n_sources": len(picks),
        "n_copies": len(planted.images),
        "n_distractors": len(distractors),
        "plants": {p.name: {"group": p.group, "steps": list(p.steps)} for p in (plants or load_plants())},
        "seed": seed,
        "thresholds": [float(thresholds[0]), float(thresholds[-1]), len(thresholds)],
        "flag": "top-1 cosine >= threshold (and pHash Hamming <= max_hamming for embedding+phash)",
        "phash": PHASH_PROTOCOL if "embedding+phash" in curves else None,
        "max_hamming": max_hamming if "embedding+phash" in curves else None,
        "requirement": required_recall(),
        "choice": "middle of the interval of thresholds meeting the requirement",
    }
    return CalibrationReport(curves, chosen, protocol)
