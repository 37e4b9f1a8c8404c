"""Geirhos et al.'s shape-vs-texture stimuli: cue-conflict images, edge drawings and silhouettes of 16 categories.

Layouts under the data root (the first that holds category folders wins)::

    cue-conflict/cue-conflict/<shape>/<shape>N-<texture>M.png   (or cue-conflict/<shape>/...)
    cue-conflict/edges/<category>/*.png                        (or edges/, edge/)
    cue-conflict/silhouettes/<category>/*.png                  (or silhouettes/, silhouette/)

A cue-conflict image's class is its shape (the folder); its texture class, parsed from the file name, travels
with the samples as ``Dataset.meta['texture']`` (an index into the 16 categories), for the shape-bias metric.

Two label spaces: ``mapped`` (the default, model-vs-human's decision mapping): the model's 1000 ImageNet
probabilities averaged over each category's ImageNet classes (``sixteen_class.json``), so zero-shot heads and
ImageNet classifiers are scored alike; ``native``: a zero-shot head over the 16 category names themselves.

Example:
    >>> parse_cue_conflict_name("airplane1-bicycle2.png")
    ('airplane', 'bicycle')
    >>> CueConflict("/nonexistent").label_space("mapped").reduce
    'mean_prob'

"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from zeroshift.data.base import Benchmark, Dataset, LabelSpace, list_images
from zeroshift.data.info import clip_classnames, sixteen_class
from zeroshift.errors import SpecError

# "<shape>N-<texture>M.png"; model-vs-human prefixes trial information ("0001_s5n_..._bird3-bird2.png")
_CUE_NAME = re.compile(r"(?:.*_)?([a-z]+)\d+-([a-z]+)\d+\.[A-Za-z]+$")


def parse_cue_conflict_name(name: str) -> tuple[str, str] | None:
    """``(shape, texture)`` of a cue-conflict file name, or None when the name does not follow the pattern."""
    match = _CUE_NAME.fullmatch(name)
    return (match.group(1), match.group(2)) if match else None


def sixteen_label_space(name: str) -> LabelSpace:
    """``mapped`` (mean probability over each category's ImageNet classes) or ``native`` (the 16 names)."""
    categories = sixteen_class()
    names = list(categories)
    if name == "native":
        return LabelSpace.from_columns(name, names, "sixteen_class", names, list(range(len(names))))
    return LabelSpace.from_columns(
        name, names, "imagenet1k", clip_classnames(), [categories[c] for c in names], reduce="mean_prob"
    )


class SixteenClassBenchmark(Benchmark):
    """Images of the 16 shape-bias categories in one folder per category."""

    label_spaces = ("mapped", "native")
    published_at = "https://github.com/rgeirhos/texture-vs-shape (stimuli/, CC BY 4.0)"
    #: candidate folders under the data root, first one holding category folders wins
    roots: ClassVar[tuple[str, ...]] = ()
    #: whether samples carry a texture class (``Dataset.meta['texture']``)
    has_texture: ClassVar[bool] = False

    def root(self) -> Path:
        """The dataset folder under the data root."""
        if self.data_root is None:
            raise SpecError(f"{self.name}: no data root given (use --data-root DIR)")
        categories = set(sixteen_class())
        for rel in self.roots:
            folder = self.data_root / rel
            if folder.is_dir() and any((folder / c).is_dir() for c in categories):
                return folder
        return self.data_root / self.roots[0]

    def dataset(self) -> Dataset:
        """One sample per image, labelled by its category folder."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        classes = list(sixteen_class())
        sample_ids: list[str] = []
        targets: list[int] = []
        textures: list[int] = []
        for position, category in enumerate(classes):
            folder = root / category
            if not folder.is_dir():
                continue
            for image in list_images(folder):
                sample_ids.append(f"{category}/{image.name}")
                targets.append(position)
                textures.append(self.texture_of(root, category, image.name, classes))
        if not sample_ids:
            raise self.missing(root, "no images in the 16 category folders")
        meta = {"texture": textures} if self.has_texture else {}
        return Dataset(self.name, root, classes, sample_ids, np.asarray(targets, dtype=np.int64), meta)

    def texture_of(self, root: Path, category: str, filename: str, classes: list[str]) -> int:
        """The texture class index of an image (-1: none)."""
        return -1

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``mapped`` (1000 ImageNet classes averaged into 16) or ``native`` (the 16 names as prompts)."""
        return sixteen_label_space(self.resolve_label_space(name))


class CueConflict(SixteenClassBenchmark):
    """1280 style-transfer images whose shape and texture come from different categories (Geirhos et al. 2019)."""

    name = "cue_conflict"
    display_name = "cue-conflict"
    kind = "diagnostic"
    description = "Cue-conflict stimuli, shape vs texture (1280 images, 16 classes; Geirhos et al. 2019)"
    metric_groups = ("accuracy", "shape_bias")
    roots = ("cue-conflict/cue-conflict", "cue-conflict")
    layout = "cue-conflict/cue-conflict/<shape>/<shape>N-<texture>M.png (16 category folders)"
    has_texture = True

    def texture_of(self, root: Path, category: str, filename: str, classes: list[str]) -> int:  # noqa: D102
        parsed = parse_cue_conflict_name(filename)
        if parsed is None or parsed[0] != category or parsed[1] not in classes:
            raise self.missing(
                root / category / filename, f"a file name that is not <{category}>N-<texture>M.png ({filename!r})"
            )
        return classes.index(parsed[1])


class Edges(SixteenClassBenchmark):
    """160 edge drawings of the 16 categories (Geirhos et al. 2019)."""

    name = "edges"
    kind = "diagnostic"
    description = "Edge drawings of the 16 shape-bias categories (160 images; Geirhos et al. 2019)"
    roots = ("cue-conflict/edges", "edges", "edge")
    layout = "cue-conflict/edges/<category>/*.png (16 category folders)"


class Silhouettes(SixteenClassBenchmark):
    """160 filled silhouettes of the 16 categories (Geirhos et al. 2019)."""

    name = "silhouettes"
    kind = "diagnostic"
    description = "Silhouettes of the 16 shape-bias categories (160 images; Geirhos et al. 2019)"
    roots = ("cue-conflict/silhouettes", "silhouettes", "silhouette")
    layout = "cue-conflict/silhouettes/<category>/*.png (16 category folders)"
