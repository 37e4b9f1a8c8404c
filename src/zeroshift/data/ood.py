"""OOD sets for out-of-distribution detection, each paired with its in-distribution benchmark.

An OOD benchmark is unlabelled (``labelled = False``) and names its in-distribution set in its ``id`` parameter
(default ``imagenet``), so the pairing is part of the canonical spec and of every results key:
``imagenet_o(id='imagenet')``, ``ood_folder(path='/data/my-ood', id='imagenet_r')``. Its samples are scored
over the in-distribution label space (ImageNet-O over its own 200-class subset or the full 1000), and its
default metric group ``ood`` compares them with the in-distribution outputs, which come from the same caches.

Published layouts under ``--data-root``:

* ``imagenet_o``: ``imagenet-o/<wnid>/*.jpg`` (Hendrycks et al. 2021, 2,000 images, 200 class folders named
  after the ImageNet class a ResNet-50 confused them with; none shows an ImageNet-1k class);
* ``inaturalist_ood``, ``sun_ood``, ``places_ood``: ``iNaturalist/images/*.jpg``, ``SUN/images/*.jpg``,
  ``Places/images/*.jpg``, the 10,000-image subsets of MOS (Huang & Li 2021) used by MCM, concepts that overlap
  ImageNet-1k removed (MCM's ``ImageNet_OOD_dataset/<name>/images`` is accepted too);
* ``textures_ood``: ``dtd/images/<class>/*.jpg``, the whole Describable Textures Dataset (5,640 images);
* ``ood_folder(path=...)``: any folder, images found recursively.

Example:
    >>> bench = OODFolder(None, path="/tmp/some-ood")
    >>> bench.canonical
    "ood_folder(id='imagenet', path='/tmp/some-ood')"
    >>> bench.labelled, bench.metric_groups, bench.label_spaces
    (False, ('ood',), ('full',))

"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zeroshift.data.base import IMAGE_EXTENSIONS, Benchmark, Dataset, LabelSpace
from zeroshift.data.imagenet import ImageNetFolder
from zeroshift.errors import SpecError


def canonical_id(spec: Any) -> str:
    """The shortest canonical spec of a labelled in-distribution benchmark (defaults left out).

    Example:
        >>> canonical_id("imagenet(split='val')"), canonical_id("imagenet_r")
        ('imagenet', 'imagenet_r')

    """
    from zeroshift.data import benchmarks
    from zeroshift.specs import CallSpec

    if not isinstance(spec, str):
        raise SpecError(f"id must be a benchmark spec string such as 'imagenet', got {spec!r}")
    call = CallSpec.parse(spec)
    cls = benchmarks.get(call.name)
    if not cls.labelled:
        raise SpecError(f"id={spec!r}: the in-distribution set must be a labelled benchmark, not an OOD set")
    params = cls(None, **call.kwargs).params
    kept = {k: v for k, v in params.items() if cls.defaults.get(k, object()) != v}
    return CallSpec.make(call.name, **kept).canonical


def list_images_recursive(root: Path) -> list[str]:
    """Paths (relative, POSIX) of the images under ``root`` at any depth, sorted; hidden files and folders skipped.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "x.png").write_bytes(b"")
        >>> list_images_recursive(d)
        ['a/x.png']

    """
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)


class OODBenchmark(Benchmark):
    """Base of the OOD sets: unlabelled, paired with an in-distribution benchmark through ``id``."""

    labelled = False
    metric_groups = ("ood",)
    defaults: ClassVar[dict[str, Any]] = {"id": "imagenet"}

    def validate_params(self) -> None:  # noqa: D102
        self.params["id"] = canonical_id(self.params["id"])

    @property
    def in_distribution(self) -> str:  # type: ignore[override]
        """The in-distribution benchmark its samples are scored against: the ``id`` parameter (canonical)."""
        return self.params["id"]

    def id_benchmark(self) -> Benchmark:
        """The in-distribution benchmark (same data root)."""
        from zeroshift.data import make_benchmark

        return make_benchmark(self.in_distribution, self.data_root)


class ImageNetO(OODBenchmark, ImageNetFolder):
    """ImageNet-O (Hendrycks et al. 2021): 2,000 adversarially filtered images of no ImageNet-1k class."""

    name = "imagenet_o"
    display_name = "ImageNet-O"
    description = "ImageNet-O OOD set (2k images; scored over its 200 classes or all 1000)"
    label_spaces = ("subset", "full")
    subset = "imagenet_o"
    roots = ("imagenet-o",)
    layout = "imagenet-o/<wnid>/*.jpg (200 WordNet-id folders)"
    published_at = "https://github.com/hendrycks/natural-adv-examples (imagenet-o.tar)"

    def dataset(self) -> Dataset:
        """Every image of the class folders; the folder is kept as metadata, not as a label."""
        data = super().dataset()
        data.meta["folder"] = [sid.split("/", 1)[0] for sid in data.sample_ids]
        data.targets = np.full(len(data), -1, dtype=np.int64)
        return data


class OODImageFolder(OODBenchmark):
    """An OOD set that is a folder of images (at any depth), scored over its in-distribution set's label spaces."""

    #: shown by ``zeroshift ls``; an instance takes the label spaces of its ``id`` benchmark
    label_spaces = ("full",)
    #: candidate folders under the data root, first existing wins (the first is shown in errors)
    roots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, data_root: Path | str | None = None, **params: Any) -> None:
        super().__init__(data_root, **params)
        self.label_spaces = self.id_benchmark().label_spaces

    def root(self) -> Path:
        """The image folder under the data root (first candidate that exists)."""
        if self.data_root is None:
            raise SpecError(f"{self.name}: no data root given (use --data-root DIR)")
        for rel in self.roots:
            if (self.data_root / rel).is_dir():
                return self.data_root / rel
        return self.data_root / self.roots[0]

    def dataset(self) -> Dataset:
        """Every image under the folder; an empty folder is a one-line error, not an empty evaluation."""
        root = self.root()
        if not root.is_dir():
            raise self.missing(root)
        sample_ids = list_images_recursive(root)
        if not sample_ids:
            raise self.missing(root, "no images (an OOD set needs at least one)")
        meta = {"folder": [sid.rsplit("/", 1)[0] if "/" in sid else "" for sid in sample_ids]}
        return Dataset(self.name, root, [], sample_ids, np.full(len(sample_ids), -1, dtype=np.int64), meta)

    def label_space(self, name: str | None = None) -> LabelSpace:
        """A label space of the in-distribution benchmark."""
        return self.id_benchmark().label_space(self.resolve_label_space(name))


class INaturalistOOD(OODImageFolder):
    """The iNaturalist OOD subset of MOS/MCM: 10,000 images of 110 plant classes absent from ImageNet-1k."""

    name = "inaturalist_ood"
    description = "iNaturalist OOD subset of MOS/MCM (10k plant images)"
    roots = ("iNaturalist/images", "ImageNet_OOD_dataset/iNaturalist/images", "iNaturalist")
    layout = "iNaturalist/images/*.jpg"
    published_at = "http://pages.cs.wisc.edu/~huangrui/imagenet_ood_dataset/iNaturalist.tar.gz (MOS, Huang & Li 2021)"


class SUNOOD(OODImageFolder):
    """The SUN OOD subset of MOS/MCM: 10,000 images of 50 scene classes absent from ImageNet-1k."""

    name = "sun_ood"
    description = "SUN OOD subset of MOS/MCM (10k scene images)"
    roots = ("SUN/images", "ImageNet_OOD_dataset/SUN/images", "SUN")
    layout = "SUN/images/*.jpg"
    published_at = "http://pages.cs.wisc.edu/~huangrui/imagenet_ood_dataset/SUN.tar.gz (MOS, Huang & Li 2021)"


class PlacesOOD(OODImageFolder):
    """The Places OOD subset of MOS/MCM: 10,000 images of 50 place classes absent from ImageNet-1k."""

    name = "places_ood"
    description = "Places OOD subset of MOS/MCM (10k place images)"
    roots = ("Places/images", "ImageNet_OOD_dataset/Places/images", "Places")
    layout = "Places/images/*.jpg"
    published_at = "http://pages.cs.wisc.edu/~huangrui/imagenet_ood_dataset/Places.tar.gz (MOS, Huang & Li 2021)"


class TexturesOOD(OODImageFolder):
    """The Describable Textures Dataset as an OOD set (all 5,640 images, 47 texture classes)."""

    name = "textures_ood"
    description = "Textures (DTD) OOD set (5.6k texture images)"
    roots = ("dtd/images", "ImageNet_OOD_dataset/dtd/images")
    layout = "dtd/images/<texture>/*.jpg"
    published_at = "https://www.robots.ox.ac.uk/~vgg/data/dtd/ (dtd-r1.0.1.tar.gz)"


class OODFolder(OODImageFolder):
    """Any folder of images as an OOD set: ``ood_folder(path='/x', id='imagenet')``."""

    name = "ood_folder"
    description = "any folder of images as an OOD set (path=..., id=...)"
    defaults: ClassVar[dict[str, Any]] = {"path": None, "id": "imagenet"}
    layout = "any folder of images, searched recursively (give path='...')"

    def validate_params(self) -> None:  # noqa: D102
        super().validate_params()
        path = self.params["path"]
        if not isinstance(path, str) or not path:
            raise SpecError("ood_folder needs a folder: ood_folder(path='/path/to/images', id='imagenet')")
        # absolute, so the canonical spec (the results key) names the same folder from any working directory
        self.params["path"] = os.path.abspath(os.path.expanduser(path))

    def root(self) -> Path:  # noqa: D102
        return Path(self.params["path"])
