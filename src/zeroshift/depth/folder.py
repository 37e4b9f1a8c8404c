"""``folder(path=..., kind='inverse', scale=1.0)``: depth maps stored next to nothing, matching the images by path.

The map of sample ``<class>/<name>.<ext>`` is ``<path>/<class>/<name>.png`` (8- or 16-bit, one channel) or
``<path>/<class>/<name>.npy`` (any numeric (H, W) array): same relative path, same stem. ``kind`` says what the
values are:

* ``inverse`` (default): inverse depth / disparity of any scale, as MiDaS/DPT write it (a 16-bit PNG min-max
  normalised to 0..65535, the maps 3DCC made ImageNet-3DCC from), converted with 3DCC's ImageNet rule
  (:func:`zeroshift.depth.convert.depth_from_inverse`);
* ``depth``: depth in any unit, larger = farther, multiplied by ``scale`` into 3DCC units (Taskonomy's 16-bit
  maps: ``scale=1/8000``), clamped to the far limit 0.5;
* ``metric``: metres (:func:`zeroshift.depth.convert.depth_from_metric`).

:meth:`FolderDepth.check` lists every sample up front and names how many maps are missing and the first one; the
maps' cache fingerprint includes every map file's size and mtime (:meth:`FolderDepth.maps_key`).

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "n01").mkdir()
    >>> np.save(root / "n01" / "a.npy", np.array([[1.0, 2.0]]))
    >>> FolderDepth(path=str(root)).depth_rows(["n01/a.JPEG"])[0].astype(float).round(4).tolist()
    [[0.5, 0.0078]]
    >>> FolderDepth(path=str(root)).depth_rows(["n01/b.JPEG"])
    Traceback (most recent call last):
    ...
    zeroshift.errors.DatasetError: depth folder ... has no map for 1 of 1 images (first: n01/b.JPEG; expected ...

"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from zeroshift.data.base import Dataset
from zeroshift.depth.base import DepthSource
from zeroshift.depth.convert import depth_from_inverse, depth_from_metric, depth_from_units
from zeroshift.errors import DatasetError, SpecError
from zeroshift.specs import CallSpec

#: what the stored values are, and how they become 3DCC depth
KINDS = {
    "inverse": lambda values, scale: depth_from_inverse(values),
    "depth": depth_from_units,
    "metric": lambda values, scale: depth_from_metric(values),
}
#: map file extensions, in the order they are looked for
EXTENSIONS = (".png", ".npy")


class FolderDepth(DepthSource):
    """Depth maps in a folder, one per image (see the module docstring)."""

    scheme = "folder"
    needs_pixels = False

    def __init__(self, path: str | None = None, kind: str = "inverse", scale: float = 1.0) -> None:
        if not path:
            raise SpecError("depth folder(...): give path='/folder/of/maps' (one map per image, same relative path)")
        if kind not in KINDS:
            raise SpecError(f"depth folder(...): kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise SpecError(f"depth folder(...): scale must be a positive number, got {scale!r}")
        self.root = Path(os.path.abspath(os.path.expanduser(path)))
        self.kind = kind
        self.scale = float(scale)

    @property
    def canonical(self) -> str:  # noqa: D102
        return CallSpec.make("folder", path=str(self.root), kind=self.kind, scale=self.scale).canonical

    def identity(self) -> dict[str, Any]:
        """The folder, the kind and the scale (the map files themselves: :meth:`maps_key`)."""
        return {"source": "folder", "path": str(self.root), "kind": self.kind, "scale": self.scale}

    def maps_key(self, dataset: Dataset) -> str:
        """A digest of every sample's :meth:`row_key` (map path, size, mtime): a map file rewritten, replaced or
        touched changes it, and with it the cache fingerprint of the maps (as an image file's size and mtime key its
        rows: ``Dataset.content_key``).
        """
        keys = "\n".join(self.row_key(s) for s in dataset.sample_ids)
        return hashlib.sha256(keys.encode()).hexdigest()[:24]

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        rule = {
            "inverse": "3DCC ImageNet rule: min(1 / (v * 65535 / 512 + 1e-6), 0.5), v min-max normalised",
            "depth": f"values * {self.scale}, clamped at 0.5; invalid (<= 0) at 0.5",
            "metric": "metres / 15.625 (3DCC's Taskonomy units), clamped at 0.5",
        }[self.kind]
        return {**super().protocol, "maps": f"{self.root}/<relative path stem>.png|.npy", "conversion": rule}

    def map_path(self, sample_id: str) -> Path | None:
        """The map file of a sample (None when there is none)."""
        stem = self.root / Path(sample_id).with_suffix("")
        for ext in EXTENSIONS:
            candidate = stem.with_name(stem.name + ext)
            if candidate.is_file():
                return candidate
        return None

    def row_key(self, sample_id: str) -> str:
        """What changes when a sample's map file changes: its path, size and mtime."""
        path = self.map_path(sample_id)
        if path is None:
            return f"{sample_id}|missing"
        st = path.stat()
        return f"{path.relative_to(self.root)}|{st.st_size}|{st.st_mtime_ns}"

    def check_ids(self, sample_ids: Sequence[str]) -> None:
        """Raise DatasetError naming how many maps are missing, and the first, before any work."""
        if not self.root.is_dir():
            raise DatasetError(
                f"depth folder {self.root} does not exist (expected one map per image: <relative path stem>.png|.npy)"
            )
        missing = [s for s in sample_ids if self.map_path(s) is None]
        if missing:
            first = missing[0]
            raise DatasetError(
                f"depth folder {self.root} has no map for {len(missing)} of {len(sample_ids)} images "
                f"(first: {first}; expected {self.root / Path(first).with_suffix('.png')} or .npy)"
            )

    def check(self, dataset: Dataset) -> None:  # noqa: D102
        self.check_ids(dataset.sample_ids)

    def load(self, path: Path) -> np.ndarray:
        """One map file as a float64 (H, W) array of its stored values."""
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            values = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
            if values is None:
                raise DatasetError(f"depth map {path} cannot be read as a PNG")
        values = np.asarray(values)
        if values.ndim == 3:
            values = values[..., 0]  # a map saved with repeated channels
        if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
            raise DatasetError(f"depth map {path} is not a numeric (H, W) array (shape {values.shape})")
        return values.astype(np.float64)

    def depth_rows(self, sample_ids: Sequence[str]) -> list[np.ndarray]:
        """The 3DCC depth maps of these samples, at their files' resolution."""
        self.check_ids(sample_ids)
        convert = KINDS[self.kind]
        return [convert(self.load(self.map_path(s)), self.scale) for s in sample_ids]

    def rows(  # noqa: D102
        self, dataset: Dataset, indices: Sequence[int], pixels: torch.Tensor | None = None
    ) -> list[np.ndarray]:
        return self.depth_rows([dataset.sample_ids[i] for i in indices])
