"""ObjectNet (Barbu et al. 2019) in its published layout, scored on the 113 classes it shares with ImageNet.

Two label spaces: ``subset`` (the default, as in the ImageNet testbed and timm): each of the 113 classes is
scored by the max logit over the ImageNet classes mapped to it, so zero-shot heads and ImageNet classifiers are
scored alike; ``native``: a zero-shot head over ObjectNet's own 113 class names (as CLIP_benchmark does).
ObjectNet images carry a thin red border, cropped by ``border`` pixels (default 2) before the model's geometry.
The ImageNet mapping ships as ``_info/objectnet.json`` with its source; it indexes the 313 class folders
sorted by name, the order of the release (and of torchvision's ImageFolder).

Example:
    >>> bench = ObjectNet("/nonexistent")
    >>> space = bench.label_space("subset")
    >>> len(space.class_names)
    113

"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from zeroshift.data.base import Benchmark, Dataset, LabelSpace, list_images
from zeroshift.data.info import clip_classnames, info_json
from zeroshift.errors import SpecError


@cache
def objectnet_mapping() -> tuple[tuple[int, tuple[int, ...]], ...]:
    """The 113 ObjectNet classes that overlap ImageNet: (position among the 313 sorted folders, ImageNet indices)."""
    data = info_json("objectnet.json")
    return tuple((c["folder_position"], tuple(c["imagenet_indices"])) for c in data["classes"])


N_FOLDERS = 313


class CroppedDataset(Dataset):
    """A folder dataset whose images lose ``border`` pixels on every side when decoded."""

    border: int = 0

    def load(self, i: int) -> tuple[Image.Image, str]:
        image, note = super().load(i)
        b = self.border
        if b and image.width > 2 * b and image.height > 2 * b:
            image = image.crop((b, b, image.width - b, image.height - b))
        return image, note


class ObjectNet(Benchmark):
    """ObjectNet test set restricted to the 113 classes that overlap ImageNet."""

    name = "objectnet"
    description = "ObjectNet (113 ImageNet-overlapping classes, 18.5k images)"
    defaults = {"border": 2}
    label_spaces = ("subset", "native")
    in_distribution = "imagenet"
    display_name = "ObjectNet"
    id_metric = "top1_on_objectnet_classes"
    layout = "objectnet-1.0/images/<class folder>/*.png (313 class folders; 113 overlap ImageNet)"
    published_at = "https://objectnet.dev/download.html (objectnet-1.0.zip)"

    def validate_params(self) -> None:  # noqa: D102
        b = self.params["border"]
        if not isinstance(b, int) or b < 0:
            raise SpecError(f"objectnet: border must be a non-negative integer, got {b!r}")

    def root(self) -> Path:
        """``<data root>/objectnet-1.0/images``."""
        if self.data_root is None:
            raise SpecError("objectnet: no data root given (use --data-root DIR)")
        return self.data_root / "objectnet-1.0" / "images"

    def folders(self) -> list[str]:
        """The 313 class folders, sorted by name (positions index the shipped mapping)."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(folders) != N_FOLDERS:
            raise self.missing(root, f"{len(folders)} class folders instead of {N_FOLDERS}")
        return folders

    def class_names(self) -> list[str]:
        """Readable names of the 113 classes: from the release's mappings/ file when present, else folder names."""
        folders = self.folders()
        names_file = self.root().parent / "mappings" / "folder_to_objectnet_label.json"
        labels: dict[str, str] = {}
        if names_file.is_file():
            try:
                labels = json.loads(names_file.read_text())
            except ValueError:
                raise self.missing(names_file, "an unreadable mappings file") from None
        return [labels.get(folders[p], folders[p].replace("_", " ")).lower() for p, _ in objectnet_mapping()]

    def dataset(self) -> Dataset:
        """Images of the 113 overlapping classes (the other 200 folders are ignored, as in every protocol)."""
        root = self.root()
        folders = self.folders()
        sample_ids: list[str] = []
        targets: list[int] = []
        for target, (position, _) in enumerate(objectnet_mapping()):
            for image in list_images(root / folders[position]):
                sample_ids.append(f"{folders[position]}/{image.name}")
                targets.append(target)
        if not sample_ids:
            raise self.missing(root, "no images in the 113 ImageNet-overlapping class folders")
        dataset = CroppedDataset(
            self.name,
            root,
            [folders[p] for p, _ in objectnet_mapping()],
            sample_ids,
            np.asarray(targets, dtype=np.int64),
            key_suffix=f"|border={self.params['border']}",
        )
        dataset.border = self.params["border"]
        return dataset

    def class_display_names(self, dataset: Dataset) -> list[str]:  # noqa: D102
        return self.class_names()

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``subset`` (max over mapped ImageNet classes) or ``native`` (ObjectNet's own names)."""
        name = self.resolve_label_space(name)
        mapping = objectnet_mapping()
        if name == "native":
            names = self.class_names()
            return LabelSpace.from_columns(name, names, "objectnet", names, list(range(len(names))))
        # scored by the max logit over each class's ImageNet classes; named after its first ImageNet class
        names = [clip_classnames()[group[0]] for _, group in mapping]
        return LabelSpace.from_columns(
            name, names, "imagenet1k", clip_classnames(), [g for _, g in mapping], reduce="max"
        )
