"""Light along the line of sight: fog_3d (scattering grows with depth) and flash (a light at the camera).

* ``fog``: the atmospheric scattering model of 3DCC (Kar et al. 2022, Sec. 3; ``create_fog.py``): transmission
  ``t = exp(-alpha * d)`` and ``I = t * rgb + A * (1 - t)`` with the atmosphere colour ``A`` the mean of the image
  (all pixels and channels: a grey fog of the scene's mean brightness).
* ``flash``: 3DCC brightens each pixel by its shading, ``rgb + rgb * shading / scaler`` clipped at 1
  (``create_flash.py``). The shading of a light at the camera falls off with distance; from depth alone zeroshift
  takes ``(d_near / d) ** falloff`` (``falloff`` 2: the inverse-square law), 1 on the nearest surface.

Example:
    >>> import numpy as np
    >>> img = np.full((4, 4, 3), 0.25, np.float32)
    >>> img[:2] = 0.75
    >>> depth = np.full((4, 4), 0.1, np.float32)
    >>> depth[:, 2:] = 0.4
    >>> out = fog(img, depth, {"alpha": 8.0}, np.random.default_rng(0))
    >>> bool(abs(out[0, 3, 0] - 0.5) < abs(out[0, 0, 0] - 0.5))  # the far pixel is nearer the fog colour 0.5
    True

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def fog(image: np.ndarray, depth: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """3D fog: ``t * rgb + mean(rgb) * (1 - t)``, ``t = exp(-alpha * depth)``."""
    t = np.exp(-np.float32(params["alpha"]) * depth.astype(np.float32))[..., None]
    atmosphere = np.float32(image.mean(dtype=np.float64))
    return t * image + atmosphere * (np.float32(1.0) - t)


def flash(image: np.ndarray, depth: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """A flash at the camera: ``min(rgb + rgb * (d_near / d) ** falloff / scaler, 1)``."""
    d = depth.astype(np.float32)
    shading = (np.float32(d.min()) / d) ** np.float32(params["falloff"])
    gain = np.float32(1.0 / float(params["scaler"]))  # 0 for the identity's infinite scaler
    return np.minimum(image + image * (shading * gain)[..., None], np.float32(1.0))
