"""Depth of field (near_focus, far_focus): a thin lens focused on one depth, blur growing with the distance to it.

Written from 3DCC's definition (Kar et al. 2022; ``create_dof.py``): the depth map is split at ``n_quantiles``
quantiles (the first lowered and the last raised by 1e-4, so every pixel falls strictly inside a bin); the lens
focuses on quantile level ``focus_level``; each level ``q`` gets the circle of confusion
``aperture * |q - q_focus| / q`` (no magnification term) as the sigma of a separable Gaussian blur of the whole
image (kernel length ``int(cutoff_multiplier * sigma)`` made odd, edges replicated, no blur under sigma 0.1); a
pixel of depth ``d`` between levels ``l`` and ``l + 1`` blends their two blurred images with weights
``1 - dist^2`` (``dist`` its relative distance to each level). Sigmas are given at the table's reference size
(224 px) and scaled with the image.

Example:
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> depth = np.linspace(0.1, 0.5, 32 * 32, dtype=np.float32).reshape(32, 32)
    >>> params = {"n_quantiles": 8, "focus_level": 0, "cutoff_multiplier": 3, "aperture": 0.0}
    >>> bool((depth_of_field(img, depth, params, np.random.default_rng(0)) == img).all())
    True

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from zeroshift.shifts.corruption3d.table import pixel_scale

#: how far the outer quantile levels are pushed beyond the data (3DCC's eps)
QUANTILE_EPS = 1e-4


def gaussian_kernel(sigma: float, cutoff_multiplier: float) -> np.ndarray:
    """The normalised 1-D Gaussian of the reference: length ``int(cutoff_multiplier * sigma)`` made odd.

    Example:
        >>> gaussian_kernel(1.0, 3).astype(float).round(3).tolist()
        [0.274, 0.452, 0.274]

    """
    length = int(sigma * cutoff_multiplier)
    if length % 2 == 0:
        length += 1
    n = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    w = np.exp(-(n**2) / (2.0 * sigma * sigma))
    return (w / w.sum()).astype(np.float32)


def blur(image: np.ndarray, sigma: float, cutoff_multiplier: float) -> np.ndarray:
    """Separable Gaussian blur with replicated edges; the image itself below sigma 0.1 (as the reference)."""
    if sigma < 0.1:
        return image
    k = gaussian_kernel(sigma, cutoff_multiplier)
    if k.size == 1:
        return image
    return cv2.sepFilter2D(image, -1, k, k, borderType=cv2.BORDER_REPLICATE)


def quantile_levels(depth: np.ndarray, n_quantiles: int) -> np.ndarray:
    """The ``n_quantiles + 1`` depth levels (linear-interpolated quantiles, outer ones pushed out by 1e-4)."""
    levels = np.quantile(depth.astype(np.float64), np.arange(n_quantiles + 1) / n_quantiles)
    levels[0] -= QUANTILE_EPS
    levels[-1] += QUANTILE_EPS
    return levels


def depth_of_field(
    image: np.ndarray, depth: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Refocus ``image`` (H, W, 3 float32 in [0, 1]) on a depth quantile level (see the module docstring)."""
    levels = quantile_levels(depth, int(params["n_quantiles"]))
    focus = levels[int(params["focus_level"])]
    sigmas = float(params["aperture"]) * np.abs(levels - focus) / np.abs(levels) * pixel_scale(image.shape)
    memo: dict[float, np.ndarray] = {}
    stack = np.stack([memo.setdefault(float(s), blur(image, float(s), params["cutoff_multiplier"])) for s in sigmas])
    flat = depth.astype(np.float64).ravel()
    right = np.searchsorted(levels, flat, side="left")  # levels[right - 1] < d <= levels[right]
    left = right - 1
    span = levels[right] - levels[left]
    dist_left = (flat - levels[left]) / span
    dist_right = (levels[right] - flat) / span
    w_left, w_right = 1.0 - dist_left**2, 1.0 - dist_right**2
    t = (w_right / (w_left + w_right)).astype(np.float32)[:, None]
    pixels = np.arange(flat.size)
    below = stack.reshape(len(levels), -1, 3)[left, pixels]
    above = stack.reshape(len(levels), -1, 3)[right, pixels]
    # the blend written as below + t (above - below) is exact where both levels are the same (unblurred) image
    out = below + t * (above - below)
    return out.reshape(image.shape)
