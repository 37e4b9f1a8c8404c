"""ImageNet-X (Idrissi et al., ICLR 2023): accuracy and error ratio per visual factor, from saved per-sample outputs.

The annotations (16 factors of variation per ImageNet validation image, CC BY-NC 4.0) are not shipped: they are
read from the folder the user gives, in the layout of ``facebookresearch/imagenetx`` ``imagenet_x/annotations``
(``imagenet_x_val_{top,multi}_factor.jsonl[.gz]``, ``prototypical_paths.csv``). As in the reference code, the
default uses each image's *top* factor and leaves out the 3,000 prototype images shown to annotators.

For a factor ``f``: ``accuracy_f`` = top-1 accuracy over the annotated images with ``f``; ``error_ratio_f`` =
``(1 - accuracy_f) / (1 - accuracy)`` with ``accuracy`` over every annotated image of the run (> 1: the factor
makes the model err more than on average). Intervals: percentile bootstrap over images, resampling the whole run
so that the overall accuracy in the denominator varies with it.

Example:
    >>> import numpy as np
    >>> flags = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)
    >>> rows, overall = factor_table(np.array([True, False, True, True]), flags, ["pose", "color"], n_boot=0)
    >>> overall, [(r.factor, r.n, r.accuracy, r.error_ratio) for r in rows]
    (0.75, [('pose', 2, 0.5, 2.0), ('color', 2, 1.0, 0.0)])

"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zeroshift.conditions import condition_of
from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP
from zeroshift.reports.base import info_text
from zeroshift.reports.paired import correct_of
from zeroshift.results.schema import RunRecord

WHICH = ("top", "multi")
SOURCE = "facebookresearch/imagenetx, imagenet_x/annotations (Idrissi et al., ICLR 2023; CC BY-NC 4.0)"


def factor_names() -> list[str]:
    """The 16 ImageNet-X factors, in the paper's order."""
    return [line for line in info_text("imagenet_x_factors.txt").splitlines() if line.strip()]


@dataclass
class Annotations:
    """Factor flags per annotated image.

    Attributes:
        factors: factor names (columns of ``flags``).
        files: image file names (rows).
        classes: ImageNet class index per image.
        flags: ``(n_images, n_factors)`` booleans.
        which: ``top`` (one factor per image) or ``multi`` (every factor present).
        partition: ``val`` or ``train``.
        prototypes_removed: prototype images left out.
        source: the file read.

    """

    factors: list[str]
    files: list[str]
    classes: np.ndarray
    flags: np.ndarray
    which: str
    partition: str
    prototypes_removed: int
    source: str

    def index(self) -> dict[str, int]:
        """File name -> row."""
        return {f: i for i, f in enumerate(self.files)}


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_annotations(
    folder: str | Path, which: str = "top", partition: str = "val", filter_prototypes: bool = True
) -> Annotations:
    """Read the ImageNet-X annotations of a partition from ``folder``.

    Raises:
        UsageError: the folder or the annotation file is missing or malformed.

    """
    if which not in WHICH:
        raise UsageError(f"ImageNet-X factors must be 'top' or 'multi', got {which!r}")
    root = Path(folder).expanduser()
    stem = f"imagenet_x_{partition}_{which}_factor.jsonl"
    path = next((p for p in (root / stem, root / f"{stem}.gz") if p.is_file()), None)
    if path is None:
        raise UsageError(
            f"no ImageNet-X annotations at {root / stem}[.gz]; give the folder holding {stem}[.gz] "
            f"(from {SOURCE}; not shipped with zeroshift because of its licence)"
        )
    factors = factor_names()
    prototypes: set[str] = set()
    proto_path = root / "prototypical_paths.csv"
    if filter_prototypes and partition == "val":
        if not proto_path.is_file():
            raise UsageError(f"no {proto_path}: needed to leave out prototype images (or use --keep-prototypes)")
        with open(proto_path, newline="") as f:
            prototypes = {row["file_name"] for row in csv.DictReader(f)}
    files, classes, flags, removed = [], [], [], 0
    try:
        for row in _jsonl(path):
            if row["file_name"] in prototypes:
                removed += 1
                continue
            files.append(row["file_name"])
            classes.append(int(row["class"]))
            flags.append([bool(row[f]) for f in factors])
    except (KeyError, ValueError, OSError) as err:
        raise UsageError(f"{path}: not an ImageNet-X annotation file ({type(err).__name__}: {err})") from None
    return Annotations(
        factors,
        files,
        np.asarray(classes, dtype=np.int64),
        np.asarray(flags, dtype=bool).reshape(-1, len(factors)),
        which,
        partition,
        removed,
        str(path),
    )


@dataclass
class FactorRow:
    """Accuracy and error ratio of one factor, with bootstrap intervals (NaN where the factor has no image)."""

    factor: str
    n: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    error_ratio: float
    error_ratio_ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _rates(weights: np.ndarray, correct: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-factor and overall accuracy for rows of sample weights ``(B, n)`` (bootstrap multiplicities)."""
    w = weights.astype(np.float64)
    total = w @ flags
    hits = (w * correct) @ flags
    with np.errstate(divide="ignore", invalid="ignore"):
        acc_f = hits / total
        overall = (w @ correct) / w.sum(axis=1)
    return acc_f, overall


def _ratio(acc_f: np.ndarray, overall: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - acc_f) / (1 - overall)[..., None]


def _quantiles(replicates: np.ndarray, q: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-column quantiles over the finite replicates (NaN for a column with none)."""
    lo, hi = np.full(replicates.shape[1], np.nan), np.full(replicates.shape[1], np.nan)
    for j in range(replicates.shape[1]):
        column = replicates[:, j][np.isfinite(replicates[:, j])]
        if column.size:
            lo[j], hi[j] = np.quantile(column, q)
    return lo, hi


def factor_table(
    correct: np.ndarray,
    flags: np.ndarray,
    factors: list[str],
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> tuple[list[FactorRow], float]:
    """Per-factor accuracy and error ratio of aligned ``correct`` (n,) and ``flags`` (n, factors)."""
    correct = np.asarray(correct, dtype=np.float64)
    flags = np.asarray(flags, dtype=np.float64)
    n = correct.size
    acc_f, overall = _rates(np.ones((1, n)), correct, flags)
    ratio = _ratio(acc_f, overall)
    lo_acc = hi_acc = lo_ratio = hi_ratio = np.full(len(factors), np.nan)
    if n >= 2 and n_boot > 0:
        rng = np.random.default_rng(seed)
        accs, ratios = [], []
        for start in range(0, n_boot, 64):  # blocks keep (B, n) weights small for 50k images
            b = min(64, n_boot - start)
            weights = rng.multinomial(n, np.full(n, 1.0 / n), size=b)
            a, o = _rates(weights, correct, flags)
            accs.append(a)
            ratios.append(_ratio(a, o))
        q = [alpha / 2, 1 - alpha / 2]
        lo_acc, hi_acc = _quantiles(np.concatenate(accs), q)
        lo_ratio, hi_ratio = _quantiles(np.concatenate(ratios), q)
    counts = flags.sum(axis=0).astype(int)
    rows = [
        FactorRow(
            f,
            int(counts[i]),
            float(acc_f[0, i]),
            (float(lo_acc[i]), float(hi_acc[i])),
            float(ratio[0, i]),
            (float(lo_ratio[i]), float(hi_ratio[i])),
        )
        for i, f in enumerate(factors)
    ]
    return rows, float(overall[0])


@dataclass
class FactorBreakdown:
    """The ImageNet-X breakdown of one stored run."""

    record: RunRecord
    rows: list[FactorRow]
    accuracy: float
    counts: dict[str, int]
    protocol: dict[str, Any]


def breakdown_run(
    record: RunRecord,
    samples: Any,
    annotations: Annotations,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> FactorBreakdown:
    """Join a run's saved samples to the annotations by file name and tabulate the factors.

    A sample whose label disagrees with the annotated class is left out and counted (``label_mismatch``): the
    folder it came from is not the published ImageNet layout.
    """
    index = annotations.index()
    correct, rows, mismatch, unannotated = [], [], 0, 0
    for sid, (label, ok) in correct_of(samples).items():
        row = index.get(sid.rsplit("/", 1)[-1])
        if row is None:
            unannotated += 1
            continue
        if annotations.classes[row] != label:
            mismatch += 1
            continue
        correct.append(ok)
        rows.append(row)
    if not rows:
        raise UsageError(
            f"run {record.run_id[:12]} ({record.model}): none of its {len(samples.sample_ids)} samples is an annotated "
            f"ImageNet-X {annotations.partition} image (file names like ILSVRC2012_val_00000001.JPEG are needed)"
        )
    flags = annotations.flags[np.asarray(rows)]
    table, overall = factor_table(np.asarray(correct), flags, annotations.factors, n_boot, alpha, seed)
    counts = {
        "annotated": len(rows),
        "unannotated": unannotated,
        "label_mismatch": mismatch,
        "prototypes_removed_from_annotations": annotations.prototypes_removed,
    }
    protocol = {
        "factors": annotations.which,
        "partition": annotations.partition,
        "prototypes": "left out" if annotations.prototypes_removed else "kept",
        "error_ratio": "(1 - accuracy_factor) / (1 - accuracy over the run's annotated images)",
        "bootstrap": {"n_boot": n_boot, "alpha": alpha, "seed": seed, "over": "images"},
        "annotations": annotations.source,
        "source": SOURCE,
    }
    return FactorBreakdown(record, table, overall, counts, protocol)


def imagenet_runs(records: list[RunRecord], models: list[str] | None = None) -> list[list[RunRecord]]:
    """The ``imagenet`` records (1000-way, any shift) of the given models (default: all), grouped by condition
    (model, benchmark, shift, prompts), newest first within each group.
    """
    groups: dict[tuple[str, ...], list[RunRecord]] = {}
    for r in sorted(records, key=lambda r: (r.created_at, r.run_id), reverse=True):
        if (
            condition_of(r).get("benchmark") == "imagenet"
            and r.label_space == "full"
            and (not models or r.model in models)
        ):
            groups.setdefault((r.model, r.benchmark, r.shift or "", r.prompts), []).append(r)
    return list(groups.values())


def analyze_imagenet_x(
    store: Any,
    annotations_dir: str | Path,
    models: list[str] | None = None,
    runs: list[str] | None = None,
    which: str = "top",
    filter_prototypes: bool = True,
    n_boot: int = DEFAULT_BOOTSTRAP["n_boot"],
    alpha: float = DEFAULT_BOOTSTRAP["alpha"],
    seed: int = DEFAULT_BOOTSTRAP["seed"],
) -> list[FactorBreakdown]:
    """ImageNet-X breakdowns of the store's imagenet runs that saved their samples.

    Raises:
        UsageError: no such run, or none saved its samples.

    """
    from zeroshift.reports.paired import resolve_run

    root = Path(annotations_dir).expanduser()
    if which not in WHICH:
        raise UsageError(f"ImageNet-X factors must be 'top' or 'multi', got {which!r}")
    if not any(root.glob(f"imagenet_x_*_{which}_factor.jsonl*")):
        raise UsageError(
            f"no ImageNet-X annotations at {root} (imagenet_x_val_{which}_factor.jsonl[.gz] expected; from {SOURCE}, "
            "not shipped with zeroshift because of its licence)"
        )
    records = store.records()
    groups = [[resolve_run(records, r)] for r in runs] if runs else imagenet_runs(records, models)
    if not groups:
        raise UsageError("no imagenet run in the store" + (f" for {', '.join(models)}" if models else ""))
    loaded: dict[str, Annotations] = {}
    results = []
    for group in groups:
        # the newest run of each condition that saved its samples
        found = next(((r, s) for r in group if (s := store.samples(r.run_id)) is not None), None)
        if found is None:
            continue
        record, samples = found
        partition = "train" if (condition_of(record).get("benchmark_params") or {}).get("split") == "train" else "val"
        if partition not in loaded:
            loaded[partition] = load_annotations(annotations_dir, which, partition, filter_prototypes)
        results.append(breakdown_run(record, samples, loaded[partition], n_boot, alpha, seed))
    if not results:
        r = groups[0][0]
        raise UsageError(
            f"no imagenet run saved its samples (e.g. {r.model}, run {r.run_id[:12]}); rerun with --save-samples "
            "(features come from the cache)"
        )
    return results
