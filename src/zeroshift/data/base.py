"""Datasets, label spaces and the Benchmark base class.

A :class:`Benchmark` is built from its spec parameters and a data root; it checks the published layout,
lists its samples as a :class:`Dataset` and offers one or more :class:`LabelSpace` protocols. A label space
says which classes are scored and how model outputs map onto them: a column subset of a class *universe*
(``subset``/``full`` for ImageNet-R/-A), groups of columns reduced by max (ObjectNet) or by mean probability
(model-vs-human's 16 categories), or the benchmark's own class names (``native``).

Example:
    >>> space = LabelSpace.from_columns("subset", ["cat", "dog"], "toy", ["cat", "cow", "dog"], [0, 2])
    >>> space.used_columns
    (0, 2)
    >>> import torch
    >>> space.class_scores(torch.tensor([[1.0, 9.0, 3.0]]), used_only=False).tolist()
    [[1.0, 3.0]]

"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.core.lazy import torch
from zeroshift.data.images import load_rgb
from zeroshift.errors import DatasetError, SpecError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")


@dataclass(frozen=True)
class LabelSpace:
    """How model outputs over a class universe become scores over the evaluated classes.

    Attributes:
        name: the protocol name recorded in results (``subset``, ``full``, ``native``, ``mapped``...).
        class_names: the evaluated classes, in label order.
        universe: name of the output universe the columns index (``imagenet1k`` for ImageNet heads).
        universe_names: prompt names of every universe column (used to build zero-shot heads).
        columns: for each evaluated class, the universe columns that vote for it.
        reduce: ``"max"`` (max logit over a class's columns) or ``"mean_prob"`` (mean softmax probability
            over the whole universe, model-vs-human's decision mapping).

    """

    name: str
    class_names: tuple[str, ...]
    universe: str
    universe_names: tuple[str, ...]
    columns: tuple[tuple[int, ...], ...]
    reduce: str = "max"

    @classmethod
    def from_columns(
        cls,
        name: str,
        class_names: Sequence[str],
        universe: str,
        universe_names: Sequence[str],
        columns: Sequence[int | Sequence[int]],
        reduce: str = "max",
    ) -> LabelSpace:
        """Build a label space; ``columns[i]`` is an int or a list of ints for class ``i``."""
        cols = tuple((c,) if isinstance(c, int | np.integer) else tuple(int(x) for x in c) for c in columns)
        if len(cols) != len(class_names):
            raise ValueError("one column group per class is needed")
        return cls(name, tuple(class_names), universe, tuple(universe_names), cols, reduce)

    @property
    def used_columns(self) -> tuple[int, ...]:
        """The sorted universe columns any class uses (a zero-shot head needs only these rows)."""
        if self.reduce == "mean_prob":
            return tuple(range(len(self.universe_names)))
        return tuple(sorted({c for group in self.columns for c in group}))

    @property
    def fingerprint_data(self) -> dict[str, Any]:
        """What identifies this protocol in fingerprints and records."""
        digest = hashlib.sha256(repr((self.class_names, self.columns, self.reduce)).encode()).hexdigest()[:16]
        return {
            "name": self.name,
            "universe": self.universe,
            "n_classes": len(self.class_names),
            "reduce": self.reduce,
            "digest": digest,
        }

    def class_scores(self, logits: torch.Tensor, used_only: bool = True) -> torch.Tensor:
        """Map logits over the universe (or over :attr:`used_columns` only) to scores per evaluated class.

        ``max`` returns logits; ``mean_prob`` returns the log of the mean probability, so a softmax of the
        result gives the renormalised 16-way probabilities.
        """
        position = {c: i for i, c in enumerate(self.used_columns)} if used_only else None

        def idx(c: int) -> int:
            return position[c] if position is not None else c

        if self.reduce == "mean_prob":
            probs = torch.softmax(logits.float(), dim=-1)
            means = torch.stack([probs[:, [idx(c) for c in g]].mean(dim=1) for g in self.columns], dim=1)
            return torch.log(means.clamp_min(torch.finfo(torch.float32).tiny))
        if all(len(g) == 1 for g in self.columns):
            return logits[:, [idx(g[0]) for g in self.columns]]
        return torch.stack([logits[:, [idx(c) for c in g]].max(dim=1).values for g in self.columns], dim=1)


@dataclass
class Dataset:
    """The samples of one benchmark: stable ids, native targets, content keys and an image loader.

    ``targets[i]`` indexes ``classes`` (the benchmark's native classes) or is -1 where a sample has no class
    (OOD sets). ``meta`` holds per-sample columns (e.g. a cue-conflict image's texture class).
    """

    name: str
    root: Path | None
    classes: list[str]
    sample_ids: list[str]
    targets: np.ndarray
    meta: dict[str, list[Any]] = field(default_factory=dict)
    key_suffix: str = ""

    def __len__(self) -> int:
        return len(self.sample_ids)

    def path(self, i: int) -> Path:
        """The file of sample ``i`` (folder datasets)."""
        assert self.root is not None
        return self.root / self.sample_ids[i]

    def content_key(self, i: int) -> str:
        """A key that changes when the bytes a model would see change: relative path, size, mtime."""
        st = os.stat(self.path(i))
        return f"{self.sample_ids[i]}|{st.st_size}|{st.st_mtime_ns}{self.key_suffix}"

    def content_keys(self) -> list[str]:
        """:meth:`content_key` of every sample."""
        return [self.content_key(i) for i in range(len(self))]

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Decode sample ``i`` as RGB; returns ``(image, conversion note)`` or raises BadImageError."""
        return load_rgb(self.path(i))

    def subset(self, indices: Sequence[int]) -> Dataset:
        """A dataset of the given samples (used by ``--limit``)."""
        idx = list(indices)
        meta = {k: [v[i] for i in idx] for k, v in self.meta.items()}
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.sample_ids = [self.sample_ids[i] for i in idx]
        clone.targets = self.targets[idx]
        clone.meta = meta
        return clone


class Benchmark:
    """Base class of every benchmark: validated parameters, a layout check, a dataset and label spaces.

    Subclasses set the class attributes and implement :meth:`dataset` and :meth:`label_space`.

    Example:
        >>> from zeroshift.data import benchmarks
        >>> "imagenet_r" in benchmarks
        True

    """

    #: registry name
    name: ClassVar[str] = ""
    #: one-line description shown by ``zeroshift ls benchmarks``
    description: ClassVar[str] = ""
    #: parameters and their defaults (the canonical spec fills these in)
    defaults: ClassVar[dict[str, Any]] = {}
    #: label-space protocols this benchmark offers; the first is the default
    label_spaces: ClassVar[tuple[str, ...]] = ("full",)
    #: metric groups computed by default
    metric_groups: ClassVar[tuple[str, ...]] = ("accuracy",)
    #: the expected folder layout, for error messages
    layout: ClassVar[str] = ""
    #: where the data is published, for error messages
    published_at: ClassVar[str] = ""
    #: whether samples have classes (False for OOD sets)
    labelled: ClassVar[bool] = True
    #: ``Dataset.meta`` columns that are exact per-sample factor labels (broken down by ``factor_accuracy``)
    factor_columns: ClassVar[tuple[str, ...]] = ()
    #: the in-distribution benchmark this one shifts away from (fits temperature scaling for calibration under
    #: shift); None: the benchmark is its own in-distribution set
    in_distribution: ClassVar[str | None] = None
    #: ``model_info.training_data`` of supervised classifiers trained on this (in-distribution) benchmark's
    #: training split: the baseline population of effective robustness on shifts away from it
    training_set: ClassVar[str | None] = None
    #: the ``Dataset.meta`` column holding each sample's texture class index (cue-conflict; see ``shape_bias``)
    texture_column: ClassVar[str] = "texture"
    #: the metric of the in-distribution run that is this benchmark's in-distribution axis (effective robustness):
    #: ``top1``, or ImageNet val restricted to the benchmark's classes for ImageNet-R/-A and ObjectNet
    id_metric: ClassVar[str] = "top1"
    #: what kind of condition the benchmark is (``in_distribution``, ``natural_shift``, ``corruption``, ``ood``,
    #: ``diagnostic``, ``typographic``...); None: derived (unlabelled -> ood; a different in-distribution set ->
    #: natural_shift; else in_distribution)
    kind: ClassVar[str | None] = None
    #: a readable name for reports (default: the registry name)
    display_name: ClassVar[str] = ""

    def __init__(self, data_root: Path | str | None = None, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if "label_space" in unknown:
            raise SpecError(
                f"{self.name}: the label space is a run option, not a benchmark parameter: "
                f"use --label-space {params['label_space']}"
            )
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise SpecError(f"{self.name}: unknown parameter {unknown[0]!r} (known: {known})")
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.data_root = Path(data_root) if data_root is not None else None
        self.validate_params()

    def validate_params(self) -> None:
        """Raise SpecError on parameter values that make no sense (override where needed)."""

    @property
    def canonical(self) -> str:
        """The canonical spec with every default filled in."""
        from zeroshift.specs import CallSpec

        return CallSpec.make(self.name, **self.params).canonical

    @property
    def record(self) -> dict[str, Any]:
        """What the benchmark itself records with each run (e.g. a generator's version); empty by default."""
        return {}

    def dataset(self) -> Dataset:
        """List the samples; raises DatasetError naming the layout when the data is missing or malformed."""
        raise NotImplementedError

    def in_distribution_spec(self) -> str | None:
        """The canonical spec of the benchmark this one is a distribution shift of (None: it is its own)."""
        if self.in_distribution is None:
            return None
        from zeroshift.data import make_benchmark

        target = make_benchmark(self.in_distribution, self.data_root).canonical
        return None if target == self.canonical else target

    def condition(self) -> dict[str, Any]:
        """The structured fields this benchmark gives every record (see ``RunRecord.condition``).

        Example:
            >>> from zeroshift.data import make_benchmark
            >>> c = make_benchmark("imagenet_r", None).condition()
            >>> c["kind"], c["in_distribution"], c["id_metric"], c["name"]
            ('natural_shift', "imagenet(split='val')", 'top1_on_imagenet_r_classes', 'ImageNet-R')

        """
        from zeroshift.data import make_benchmark
        from zeroshift.specs import CallSpec

        in_dist = self.in_distribution_spec()
        kind = self.kind or ("ood" if not self.labelled else "natural_shift" if in_dist else "in_distribution")
        # the supervised population of effective robustness: models trained on the in-distribution set
        training_set = make_benchmark(in_dist, self.data_root).training_set if in_dist else self.training_set
        return {
            "benchmark": self.name,
            "benchmark_params": dict(CallSpec.parse(self.canonical).kwargs),
            "name": self.display_name or self.name,
            "kind": kind,
            "base": self.canonical,
            "in_distribution": in_dist,
            "id_metric": self.id_metric,
            "training_set": training_set,
            "corruption": None,
        }

    def label_space(self, name: str | None = None) -> LabelSpace:
        """Return the label space called ``name`` (None: the default, the first of :attr:`label_spaces`)."""
        raise NotImplementedError

    def class_display_names(self, dataset: Dataset) -> list[str]:
        """Readable names of the native classes (written by typographic attacks, shown in reports)."""
        return list(dataset.classes)

    def native_to_label(self, space: LabelSpace) -> np.ndarray:
        """Map native targets (indices into ``Dataset.classes``) to label indices of ``space``."""
        return np.arange(len(space.class_names))

    def resolve_label_space(self, name: str | None) -> str:
        """Check ``name`` against :attr:`label_spaces` and return it, or the default."""
        if name is None:
            return self.label_spaces[0]
        if name not in self.label_spaces:
            raise SpecError(f"{self.name} has no label space {name!r}; choose one of: {', '.join(self.label_spaces)}")
        return name

    def missing(self, path: Path, problem: str = "no dataset folder") -> DatasetError:
        """Build the one-line error for a missing or malformed dataset."""
        where = f" Published at {self.published_at}." if self.published_at else ""
        return DatasetError(f"{self.name}: {problem} at {path}. Expected layout: {self.layout}.{where}")


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name (hidden files ignored)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    )
