"""The ImageNet family in its published folder layouts: val, V2, Sketch, R, A, C (ObjectNet lives in objectnet.py).

Every benchmark here labels a sample by the class folder it sits in (a WordNet id, or a class index for
ImageNet-V2) and scores it against the shared 1000-class universe, so one cached text head serves them all.
ImageNet-R and -A cover 200 classes: ``label_space='subset'`` (the default, as in the Hendrycks code and
CLIP_benchmark) takes the argmax over those 200, ``'full'`` over all 1000.

Example:
    >>> bench = ImageNetR("/nonexistent")
    >>> bench.label_space("subset").class_names[:2]
    ('goldfish', 'great white shark')
    >>> from zeroshift.errors import DatasetError
    >>> try:
    ...     bench.dataset()
    ... except DatasetError as err:
    ...     print(str(err)[:60])
    imagenet_r: no dataset folder at /nonexistent/imagenet-r. Ex

"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zeroshift.data.base import Benchmark, Dataset, LabelSpace, list_images
from zeroshift.data.info import clip_classnames, imagenet_wnids, subset_wnids, wnid_index
from zeroshift.errors import SpecError

IMAGENET_C_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
)  # fmt: skip


def imagenet_label_space(name: str, wnids: tuple[str, ...] | None = None) -> LabelSpace:
    """The 1000-class universe restricted to ``wnids`` (``subset``) or complete (``full``)."""
    names = clip_classnames()
    index = wnid_index()
    chosen = [index[w] for w in (wnids or imagenet_wnids())]
    return LabelSpace.from_columns(name, [names[i] for i in chosen], "imagenet1k", names, chosen)


class ImageNetFolder(Benchmark):
    """A benchmark whose images sit in one folder per class under a published root folder."""

    #: candidate folders under the data root, first existing wins (the first is shown in errors)
    roots: ClassVar[tuple[str, ...]] = ()
    #: the 200 classes of a subset benchmark (a name for :func:`subset_wnids`), or None for all 1000
    subset: ClassVar[str | None] = None
    #: whether class folders are named by class index (ImageNet-V2) instead of WordNet id
    index_folders: ClassVar[bool] = False
    in_distribution = "imagenet"

    def root(self) -> Path:
        """The dataset folder under the data root (first candidate that exists)."""
        if self.data_root is None:
            raise SpecError(f"{self.name}: no data root given (use --data-root DIR)")
        for rel in self.candidate_roots():
            if (self.data_root / rel).is_dir():
                return self.data_root / rel
        return self.data_root / self.candidate_roots()[0]

    def candidate_roots(self) -> tuple[str, ...]:
        """Folders under the data root where this dataset may live."""
        return self.roots

    def class_wnids(self) -> tuple[str, ...]:
        """The classes this benchmark covers."""
        return subset_wnids(self.subset) if self.subset else imagenet_wnids()

    def folder_to_wnid(self, folder: str) -> str | None:
        """The WordNet id a class folder stands for (None when the name is not a class of this benchmark)."""
        if self.index_folders:
            return imagenet_wnids()[int(folder)] if folder.isdigit() and int(folder) < 1000 else None
        return folder if folder in self._allowed else None

    def dataset(self) -> Dataset:
        """List every image under the class folders."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        self._allowed = set(self.class_wnids())
        wnids = self.class_wnids()
        position = {w: i for i, w in enumerate(wnids)}
        sample_ids: list[str] = []
        targets: list[int] = []
        stray_files = 0
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                stray_files += 1
                continue
            wnid = self.folder_to_wnid(entry.name)
            if wnid is None:
                raise self.missing(root, f"unexpected class folder {entry.name!r}")
            for image in list_images(entry):
                sample_ids.append(f"{entry.name}/{image.name}")
                targets.append(position[wnid])
        if not sample_ids:
            problem = "images directly in the folder, not in class folders" if stray_files else "no images"
            raise self.missing(root, problem)
        return Dataset(self.name, root, list(wnids), sample_ids, np.asarray(targets, dtype=np.int64))

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``subset`` (the benchmark's classes) or ``full`` (all 1000)."""
        name = self.resolve_label_space(name)
        return imagenet_label_space(name, self.class_wnids() if name == "subset" else None)

    def class_display_names(self, dataset: Dataset) -> list[str]:
        """CLIP's names of the benchmark's classes."""
        names, index = clip_classnames(), wnid_index()
        return [names[index[w]] for w in self.class_wnids()]

    def native_to_label(self, space: LabelSpace) -> np.ndarray:
        """Map native targets (positions in :meth:`class_wnids`) to label indices of ``space``."""
        if space.name == "subset" or not self.subset:
            return np.arange(len(self.class_wnids()))
        index = wnid_index()
        return np.asarray([index[w] for w in self.class_wnids()])


class ImageNetVal(ImageNetFolder):
    """ImageNet-1k validation set, 50,000 images in 1000 WordNet-id folders."""

    name = "imagenet"
    display_name = "ImageNet"
    training_set = "ImageNet-1k"
    description = "ImageNet-1k validation (50k images, 1000 classes)"
    defaults = {"split": "val"}
    label_spaces = ("full",)
    # class_subsets: the in-distribution axis of effective robustness on ImageNet-R/-A/ObjectNet, from these outputs
    metric_groups = ("accuracy", "class_subsets")
    layout = "imagenet/val/<wnid>/*.JPEG (1000 WordNet-id folders; the flat val tar must be sorted into folders)"
    published_at = "https://image-net.org/download (ILSVRC2012_img_val.tar)"

    def validate_params(self) -> None:  # noqa: D102
        if self.params["split"] not in ("val", "train"):
            raise SpecError(f"imagenet: split must be 'val' or 'train', got {self.params['split']!r}")

    def candidate_roots(self) -> tuple[str, ...]:  # noqa: D102
        return (f"imagenet/{self.params['split']}",)


class ImageNetV2(ImageNetFolder):
    """ImageNet-V2 (Recht et al. 2019): 10,000 images in folders named by class index 0..999."""

    name = "imagenet_v2"
    display_name = "ImageNet-V2"
    description = "ImageNet-V2 (10k images; matched-frequency by default)"
    defaults = {"variant": "matched-frequency"}
    label_spaces = ("full",)
    index_folders = True
    layout = "imagenetv2-matched-frequency-format-val/<0..999>/*.jpeg (folders named by class index)"
    published_at = "https://huggingface.co/datasets/vaishaal/ImageNetV2"

    def validate_params(self) -> None:  # noqa: D102
        if self.params["variant"] not in ("matched-frequency", "threshold0.7", "top-images"):
            raise SpecError("imagenet_v2: variant must be 'matched-frequency', 'threshold0.7' or 'top-images'")

    def candidate_roots(self) -> tuple[str, ...]:  # noqa: D102
        v = self.params["variant"]
        return (f"imagenetv2-{v}-format-val", f"imagenet-v2/imagenetv2-{v}-format-val", f"imagenet_v2/{v}")


class ImageNetSketch(ImageNetFolder):
    """ImageNet-Sketch (Wang et al. 2019): 50,889 sketches in 1000 WordNet-id folders."""

    name = "imagenet_sketch"
    display_name = "ImageNet-Sketch"
    description = "ImageNet-Sketch (50k sketches, 1000 classes)"
    label_spaces = ("full",)
    roots = ("imagenet-sketch/sketch", "imagenet-sketch", "sketch")
    layout = "imagenet-sketch/sketch/<wnid>/*.JPEG (1000 WordNet-id folders)"
    published_at = "https://github.com/HaohanWang/ImageNet-Sketch (ImageNet-Sketch.zip)"


class ImageNetR(ImageNetFolder):
    """ImageNet-R (Hendrycks et al. 2021): 30,000 renditions of 200 classes."""

    name = "imagenet_r"
    display_name = "ImageNet-R"
    id_metric = "top1_on_imagenet_r_classes"
    description = "ImageNet-R renditions (30k images, 200 classes)"
    label_spaces = ("subset", "full")
    subset = "imagenet_r"
    roots = ("imagenet-r",)
    layout = "imagenet-r/<wnid>/*.jpg (200 WordNet-id folders)"
    published_at = "https://github.com/hendrycks/imagenet-r (imagenet-r.tar)"


class ImageNetA(ImageNetFolder):
    """ImageNet-A (Hendrycks et al. 2021): 7,500 natural adversarial examples of 200 classes."""

    name = "imagenet_a"
    display_name = "ImageNet-A"
    id_metric = "top1_on_imagenet_a_classes"
    description = "ImageNet-A natural adversarial examples (7.5k images, 200 classes)"
    label_spaces = ("subset", "full")
    subset = "imagenet_a"
    roots = ("imagenet-a",)
    layout = "imagenet-a/<wnid>/*.jpg (200 WordNet-id folders)"
    published_at = "https://github.com/hendrycks/natural-adv-examples (imagenet-a.tar)"


class ImageNetC(ImageNetFolder):
    """ImageNet-C (Hendrycks & Dietterich 2019) as released: one JPEG tree per corruption and severity."""

    name = "imagenet_c"
    display_name = "ImageNet-C"
    kind = "corruption"
    description = "ImageNet-C released JPEGs (one corruption x severity per spec)"
    defaults = {"corruption": "gaussian_noise", "severity": 1}
    label_spaces = ("full",)
    layout = "imagenet-c/<corruption>/<severity>/<wnid>/*.JPEG"
    published_at = "https://zenodo.org/record/2235448 (one tar per corruption family)"

    def validate_params(self) -> None:  # noqa: D102
        from zeroshift.registry import suggest

        c, s = self.params["corruption"], self.params["severity"]
        if c not in IMAGENET_C_CORRUPTIONS:
            raise SpecError(f"imagenet_c: unknown corruption {c!r}" + suggest(str(c), list(IMAGENET_C_CORRUPTIONS)))
        if not isinstance(s, int) or not 1 <= s <= 5:
            raise SpecError(f"imagenet_c: severity must be an integer from 1 to 5, got {s!r}")

    def candidate_roots(self) -> tuple[str, ...]:  # noqa: D102
        return (f"imagenet-c/{self.params['corruption']}/{self.params['severity']}",)

    def condition(self) -> dict[str, Any]:  # noqa: D102
        # the released JPEGs are ImageNet val corrupted: its clean counterpart is the imagenet benchmark
        base = self.in_distribution_spec()
        corruption = {"name": self.params["corruption"], "severity": self.params["severity"]}
        return {**super().condition(), "base": base, "corruption": corruption}
