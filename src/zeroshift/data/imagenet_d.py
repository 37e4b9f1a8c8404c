"""ImageNet-D (Zhang et al., CVPR 2024) in its released layout: diffusion-generated images of 113 ImageNet
classes with a changed background, texture or material.

Layout under the data root: ``ImageNet-D/<subset>/<class folder>/<image>`` with subsets ``background``,
``texture`` and ``material`` (one benchmark per subset: ``imagenet_d(subset='texture')``), and optionally the
release's question files ``ImageNet-D/questions/<subset>.csv`` (tab-separated ``image_dir``, ``gt_category``,
``top1_pred_cate``, ``top2_pred_cate``: the CLIP predictions the published LLaVA questions were built from),
read into the per-sample columns ``published_top1`` / ``published_top2`` (label indices, -1 where absent).

The 113 classes, their folder names, display names (as the release's ``evaluate_vlm.py`` writes them: the names
its question files and answer matching use) and ImageNet indices ship as ``_info/imagenet_d.json``; the
answer-matching synonyms of its LLaVA protocol as ``_info/imagenet_d_synonyms.yaml``. Label spaces:
``native`` (default: a zero-shot head over the 113 names, the release's CLIP protocol) and ``subset`` (each class
scored by the max logit over its ImageNet classes, as for ObjectNet, whose 113 classes these are).

Example:
    >>> bench = ImageNetD("/nonexistent", subset="texture")
    >>> space = bench.label_space()
    >>> len(space.class_names), space.class_names[19]
    (113, 'coffee or french press')

"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from zeroshift.data.base import Benchmark, Dataset, LabelSpace, list_images
from zeroshift.data.info import clip_classnames, info_json
from zeroshift.errors import SpecError

SUBSETS = ("background", "texture", "material")
QUESTION_COLUMNS = ("image_dir", "gt_category", "top1_pred_cate", "top2_pred_cate")


@cache
def imagenet_d_classes() -> tuple[dict[str, Any], ...]:
    """The 113 classes in label order: ``folder``, ``name`` and ``imagenet_indices`` (from ``_info``)."""
    return tuple(info_json("imagenet_d.json")["classes"])


def imagenet_d_synonyms() -> Any:
    """The answer-matching synonyms of ImageNet-D's LLaVA protocol (:class:`zeroshift.lmm.matching.Synonyms`).

    Example:
        >>> imagenet_d_synonyms().terms("tv")
        ('tv', 'television')

    """
    from importlib import resources

    from zeroshift.lmm.matching import Synonyms

    return Synonyms.from_file(Path(str(resources.files("zeroshift.data") / "_info" / "imagenet_d_synonyms.yaml")))


class ImageNetD(Benchmark):
    """One subset of ImageNet-D (see the module docstring)."""

    name = "imagenet_d"
    description = "ImageNet-D (113 classes; background, texture or material subset; diffusion-generated)"
    defaults = {"subset": "background"}
    label_spaces = ("native", "subset")
    in_distribution = "imagenet"
    layout = "ImageNet-D/<background|texture|material>/<class folder>/* (113 class folders, e.g. alarm_clock)"
    published_at = "https://huggingface.co/datasets/zcs15/ImageNet-D (or the Google Drive link of the repository)"

    def validate_params(self) -> None:  # noqa: D102
        if self.params["subset"] not in SUBSETS:
            raise SpecError(f"imagenet_d: subset must be one of {', '.join(SUBSETS)}, got {self.params['subset']!r}")

    def root(self) -> Path:
        """``<data root>/ImageNet-D``."""
        if self.data_root is None:
            raise SpecError("imagenet_d: no data root given (use --data-root DIR)")
        return self.data_root / "ImageNet-D"

    def dataset(self) -> Dataset:
        """Images of the subset's class folders (any of the 113; an unknown folder is a layout error)."""
        root = self.root()
        folder = root / self.params["subset"]
        if not folder.is_dir():
            raise self.missing(folder, "no subset folder")
        index = {c["folder"]: i for i, c in enumerate(imagenet_d_classes())}
        present = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        unknown = [name for name in present if name not in index]
        if unknown:
            raise self.missing(folder / unknown[0], f"a class folder that is not one of the 113 ({unknown[0]!r})")
        sample_ids: list[str] = []
        targets: list[int] = []
        for name in present:
            for image in list_images(folder / name):
                sample_ids.append(f"{self.params['subset']}/{name}/{image.name}")
                targets.append(index[name])
        if not sample_ids:
            raise self.missing(folder, "no images in the class folders")
        meta = self._published_questions(sample_ids)
        return Dataset(self.name, root, [c["folder"] for c in imagenet_d_classes()], sample_ids,
                       np.asarray(targets, dtype=np.int64), meta)  # fmt: skip

    def _published_questions(self, sample_ids: list[str]) -> dict[str, list[Any]]:
        """The release's question file as per-sample columns (empty when the file is absent)."""
        path = self.root() / "questions" / f"{self.params['subset']}.csv"
        if not path.is_file():
            return {}
        names = {c["name"]: i for i, c in enumerate(imagenet_d_classes())}
        rows: dict[str, tuple[int, int]] = {}
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter="\t")
            missing = [c for c in QUESTION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise self.missing(path, f"a question file without the column {missing[0]!r}")
            for row in reader:
                if row["top1_pred_cate"] not in names or row["top2_pred_cate"] not in names:
                    raise self.missing(path, f"a question naming an unknown class ({row['top1_pred_cate']!r})")
                rows[row["image_dir"]] = (names[row["top1_pred_cate"]], names[row["top2_pred_cate"]])
        found = [rows.get(sid, (-1, -1)) for sid in sample_ids]
        return {"published_top1": [a for a, _ in found], "published_top2": [b for _, b in found]}

    def class_display_names(self, dataset: Dataset) -> list[str]:  # noqa: D102
        return [c["name"] for c in imagenet_d_classes()]

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``native`` (the 113 names) or ``subset`` (max over each class's ImageNet classes)."""
        name = self.resolve_label_space(name)
        classes = imagenet_d_classes()
        names = [c["name"] for c in classes]
        if name == "native":
            return LabelSpace.from_columns(name, names, "imagenet_d", names, list(range(len(names))))
        return LabelSpace.from_columns(
            name, names, "imagenet1k", clip_classnames(), [c["imagenet_indices"] for c in classes], reduce="max"
        )

    @property
    def record(self) -> dict[str, Any]:  # noqa: D102
        return {"class_names": "as the release's evaluate_vlm.py writes them", "subset": self.params["subset"]}
