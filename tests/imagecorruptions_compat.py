"""Test-only shim that lets the reference ``imagecorruptions`` 1.1.2 run on current numpy / scikit-image.

The reference fails on three renamed or removed APIs, nothing else:

* ``pkg_resources`` (setuptools), imported at module level for the frost file paths: a stand-in module with
  ``resource_filename`` is installed when setuptools is absent;
* ``np.float_`` (removed in numpy 2; fog's plasma fractal): aliased to ``np.float64``;
* scikit-image ``gaussian(..., multichannel=True)`` (renamed ``channel_axis`` in 0.19, removed in 0.21;
  gaussian_blur and glass_blur): the module's ``gaussian`` is wrapped to translate the keyword.

Nothing else in the reference is touched. ``LegacyRandom`` feeds our port the random numbers the reference draws
from numpy's global state after ``np.random.seed(seed)``, so outputs can be compared pixel for pixel.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from typing import Any

import numpy as np


def load_reference() -> Any | None:
    """Import ``imagecorruptions`` with the shim applied; None when the package is not installed."""
    if importlib.util.find_spec("imagecorruptions") is None:
        return None
    if importlib.util.find_spec("pkg_resources") is None and "pkg_resources" not in sys.modules:
        stub = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            spec = importlib.util.find_spec(package)
            return os.path.join(os.path.dirname(spec.origin), name)

        stub.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = stub
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # type: ignore[attr-defined]
    import imagecorruptions
    import imagecorruptions.corruptions as module
    from skimage.filters import gaussian

    if not getattr(module.gaussian, "_zeroshift_shim", False):

        def gaussian_compat(image: Any, sigma: Any = 1, multichannel: bool | None = None, **kwargs: Any) -> Any:
            if multichannel is not None:
                kwargs["channel_axis"] = -1 if multichannel else None
            return gaussian(image, sigma=sigma, **kwargs)

        gaussian_compat._zeroshift_shim = True  # type: ignore[attr-defined]
        module.gaussian = gaussian_compat
    return imagecorruptions


class LegacyRandom:
    """numpy's global random state behind the Generator methods our port calls (seeds it on creation)."""

    def __init__(self, seed: int) -> None:
        np.random.seed(seed)

    def normal(self, *args: Any, **kwargs: Any) -> Any:
        return np.random.normal(*args, **kwargs)

    def uniform(self, *args: Any, **kwargs: Any) -> Any:
        return np.random.uniform(*args, **kwargs)

    def poisson(self, *args: Any, **kwargs: Any) -> Any:
        return np.random.poisson(*args, **kwargs)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        return np.random.randint(low, high, size)

    def random(self, size: Any = None) -> Any:
        return np.random.random_sample(size)
