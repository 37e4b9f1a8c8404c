"""ObjectNet (Barbu et al. 2019) in its published layout, scored on the 113 classes it shares with ImageNet.

Two label spaces: ``subset`` (the default, as in the ImageNet testbed and timm): each of the 113 classes is
scored by the max logit over the ImageNet classes mapped to it, so zero-shot heads and ImageNet classifiers are
scored alike; ``native``: a zero-shot head over ObjectNet's own 113 class names (as CLIP_benchmark does).
ObjectNet images carry a thin red border, cropped by ``border`` pixels (default 2) before the model's geometry.
The class mapping ships as ``_info/objectnet.json`` with its source.

Example:
    >>> bench = ObjectNet("/nonexistent")
    >>> space = bench.label_space("subset")
    >>> len(space.class_names)
    113

"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zeroshift.data.base import Benchmark, Dataset, LabelSpace, list_images
from zeroshift.data.info import clip_classnames, info_json
from zeroshift.errors import SpecError


@cache
def objectnet_classes() -> tuple[dict[str, Any], ...]:
    """The 113 ObjectNet classes that overlap ImageNet: name, folder and ImageNet class indices."""
    return tuple(info_json("objectnet.json")["classes"])


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

    def dataset(self) -> Dataset:
        """Images of the 113 overlapping classes (the other 200 folders are ignored, as in every protocol)."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        classes = objectnet_classes()
        sample_ids: list[str] = []
        targets: list[int] = []
        found = 0
        for position, cls in enumerate(classes):
            folder = root / cls["folder"]
            if not folder.is_dir():
                continue
            found += 1
            for image in list_images(folder):
                sample_ids.append(f"{cls['folder']}/{image.name}")
                targets.append(position)
        if not found:
            raise self.missing(root, "none of the 113 ImageNet-overlapping class folders")
        dataset = CroppedDataset(
            self.name,
            root,
            [c["folder"] for c in classes],
            sample_ids,
            np.asarray(targets, dtype=np.int64),
            key_suffix=f"|border={self.params['border']}",
        )
        dataset.border = self.params["border"]
        return dataset

    def class_display_names(self, dataset: Dataset) -> list[str]:  # noqa: D102
        return [c["name"].lower() for c in objectnet_classes()]

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``subset`` (max over mapped ImageNet classes) or ``native`` (ObjectNet's own names)."""
        name = self.resolve_label_space(name)
        classes = objectnet_classes()
        names = [c["name"].lower() for c in classes]
        if name == "native":
            return LabelSpace.from_columns(name, names, "objectnet", names, list(range(len(names))))
        return LabelSpace.from_columns(
            name, names, "imagenet1k", clip_classnames(), [c["imagenet_indices"] for c in classes], reduce="max"
        )
