"""The DepthSource protocol: where the depth map of each image comes from, and what identifies it.

Three kinds exist (registered in :mod:`zeroshift.depth`): a monocular depth model run on the pixels a shift sees
(``dpt:...``, ``depth_anything:...``: :attr:`DepthSource.needs_pixels` is True), a folder of maps matching the
images (``folder(path=...)``) and FactorWorld's exact depth (``factorworld``), both looked up by sample. Each
gives maps in 3DCC depth units (:mod:`zeroshift.depth.convert`) through one producer,
:meth:`DepthSource.rows`, that an engine can wrap as a cached per-image artefact: the artefact's fingerprint is
:meth:`DepthSource.identity` and :meth:`DepthSource.maps_key` (a folder's map files) plus, per row, the image's
content key (and, for a model, the geometry that made the pixels).

Example:
    >>> from zeroshift.depth import parse_depth_source
    >>> src = parse_depth_source("factorworld")
    >>> src.canonical, src.needs_pixels
    ('factorworld', False)

"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from zeroshift.data.base import Dataset


class DepthSource(ABC):
    """Where depth maps come from (see the module docstring)."""

    #: the name this kind is registered under (the scheme of model specs)
    scheme: ClassVar[str] = ""
    #: True when maps are computed from the pixels (a model), False when looked up by sample
    needs_pixels: ClassVar[bool] = False

    @property
    @abstractmethod
    def canonical(self) -> str:
        """The canonical spec string (absolute paths), as recorded in shift specs."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What identifies the maps besides the image: the artefact cache's fingerprint (no loading of weights)."""

    @property
    def protocol(self) -> dict[str, Any]:
        """The choices behind the maps, recorded with every run."""
        return {"depth_source": self.canonical, "units": "3DCC depth (larger = farther, far limit 0.5)"}

    def maps_key(self, dataset: Dataset) -> str | None:
        """What the maps of ``dataset`` depend on beyond :meth:`identity` and the images (None: nothing).

        A folder of maps answers a digest of every map file's path, size and mtime, so a changed map file changes
        the cache fingerprint of the maps.
        """
        return None

    def check(self, dataset: Dataset) -> None:  # noqa: B027 - most sources can serve any dataset
        """Raise a UsageError before any work when this source cannot give maps for ``dataset``."""

    @abstractmethod
    def rows(self, dataset: Dataset, indices: Sequence[int], pixels: torch.Tensor | None = None) -> list[np.ndarray]:
        """The depth maps of samples ``indices`` (float32 (H, W)); ``pixels`` (B, 3, H, W) for a model source."""
