"""Camera-sensor corruptions without depth: low_light, iso_noise (``sensor_noise``) and color_quant (``posterize``).

From 3DCC's ``create_non3d.py`` (Kar et al. 2022):

* ``low_light``: MATLAB's ``imadjust`` from the image's own range to ``[0, level]`` with gamma 2, i.e.
  ``level * ((x - min) / (max - min)) ** gamma``, then Poisson-Gaussian noise (``photons`` 120, ``sigma`` 0.018);
* ``sensor_noise`` (iso_noise): Poisson noise of ``photons`` (25: ISO does not change photon noise) then Gaussian
  electronic noise of ``sigma`` growing with severity, each clipped to [0, 1];
* ``posterize`` (color_quant): keep the ``bits`` high bits of each 8-bit channel (``PIL.ImageOps.posterize``).

``photons=None`` means no shot noise and ``sigma=0`` no read noise (the identity parameters).

Example:
    >>> import numpy as np
    >>> x = np.full((2, 2, 3), 200 / 255, np.float32)
    >>> round(float(posterize(x, None, {"bits": 2}, None)[0, 0, 0]) * 255)  # 200 = 0b11001000
    192

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def shot_and_read_noise(x: np.ndarray, photons: float | None, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson noise of ``photons`` (skipped when None), then Gaussian noise of ``sigma`` (skipped when 0)."""
    out = x
    if photons is not None:
        out = np.clip(rng.poisson(out.astype(np.float64) * photons) / float(photons), 0.0, 1.0).astype(np.float32)
    if sigma:
        out = np.clip(out + rng.normal(scale=sigma, size=out.shape), 0.0, 1.0).astype(np.float32)
    return out


def sensor_noise(
    image: np.ndarray, depth: np.ndarray | None, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """ISO noise: shot noise, then read noise."""
    return shot_and_read_noise(image, params["photons"], float(params["sigma"]), rng)


def low_light(
    image: np.ndarray, depth: np.ndarray | None, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Under-exposure: ``level * stretched(x) ** gamma``, then shot and read noise."""
    x = image
    if params["stretch"]:
        lo, hi = np.float32(x.min()), np.float32(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    x = (x ** np.float32(params["gamma"])) * np.float32(params["level"])
    return shot_and_read_noise(x, params["photons"], float(params["sigma"]), rng)


def posterize(
    image: np.ndarray, depth: np.ndarray | None, params: Mapping[str, Any], rng: np.random.Generator | None
) -> np.ndarray:
    """Keep the ``bits`` high bits of each channel of the image's 8-bit values."""
    bits = int(params["bits"])
    values = np.rint(image * np.float32(255.0)).astype(np.uint8)
    mask = np.uint8((0xFF << (8 - bits)) & 0xFF)
    return (values & mask).astype(np.float32) / np.float32(255.0)
