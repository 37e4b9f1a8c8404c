"""Depth conventions: every depth map a 3D corruption sees is "3DCC depth", metric-like, larger = farther.

3DCC's ImageNet depth (Kar et al. 2022; ``create_3dcc/dataset.py`` of EPFL-VILAB/3DCommonCorruptions, the branch
marked "use for imagenet images + invert depth as midas predicts inverse depth") starts from MiDaS/DPT *inverse*
depth written as a 16-bit PNG, i.e. min-max normalised to 0..65535. It is divided by 512, inverted and clamped
to at most 0.5::

    depth = min(1 / (v * 65535 / 512 + 1e-6), 0.5),   v = (inv - inv.min()) / (inv.max() - inv.min())

so the nearest pixel sits at depth 1/128 ~ 0.0078 and everything beyond 1.6 % of the inverse-depth range is at the
far limit 0.5. The corruption parameters (fog's extinction ``alpha`` above all) are calibrated on this range.
:func:`depth_from_inverse` applies it to any inverse-depth (disparity) map; a constant map (no depth signal,
e.g. a random-weight model) gives the far limit everywhere. Metric depth in metres is brought to the same units
with 3DCC's Taskonomy scaling (Taskonomy stores 1/512 m per unit and divides by 8000, so one unit is 15.625 m)
and the same far clamp (:func:`depth_from_metric`).

Depth maps that are not at the size of the pixels a shift sees are aligned by :func:`align_depth`.

Example:
    >>> import numpy as np
    >>> d = depth_from_inverse(np.array([[0.0, 1.0], [2.0, 4.0]]))
    >>> d.astype(float).round(4).tolist()
    [[0.5, 0.0313], [0.0156, 0.0078]]
    >>> round(float(depth_from_metric(np.array([3.125]))[0]), 4)
    0.2

"""

from __future__ import annotations

import cv2
import numpy as np

#: the far limit of 3DCC's ImageNet depth (and of every map zeroshift hands to a corruption)
FAR = 0.5
#: 16-bit PNG range / 512, 3DCC's scale of normalised inverse depth before inverting
INVERSE_SCALE = 65535.0 / 512.0
#: metres per unit of 3DCC depth (Taskonomy: 1/512 m per unit, divided by 8000)
METRES_PER_UNIT = 8000.0 / 512.0


def depth_from_inverse(inverse: np.ndarray) -> np.ndarray:
    """3DCC depth from an inverse-depth (disparity) map of any scale (see the module docstring).

    Example:
        >>> import numpy as np
        >>> float(depth_from_inverse(np.full((2, 2), 3.0)).min())  # a constant map carries no depth: all far
        0.5

    """
    inv = np.asarray(inverse, dtype=np.float64)
    finite = np.isfinite(inv)
    inv = np.where(finite, inv, np.nanmin(np.where(finite, inv, np.inf)) if finite.any() else 0.0)
    lo, hi = float(inv.min()), float(inv.max())
    v = (inv - lo) / (hi - lo) if hi > lo else np.zeros_like(inv)
    return np.minimum(1.0 / (v * INVERSE_SCALE + 1e-6), FAR).astype(np.float32)


def depth_from_metric(metres: np.ndarray) -> np.ndarray:
    """3DCC depth from metric depth in metres; invalid values (not finite, not positive) go to the far limit.

    Example:
        >>> import numpy as np
        >>> depth_from_metric(np.array([0.0, 1.5625, 100.0])).tolist()
        [0.5, 0.10000000149011612, 0.5]

    """
    m = np.asarray(metres, dtype=np.float64)
    valid = np.isfinite(m) & (m > 0)
    return np.where(valid, np.minimum(m / METRES_PER_UNIT, FAR), FAR).astype(np.float32)


def depth_from_units(values: np.ndarray, scale: float) -> np.ndarray:
    """3DCC depth from a map already in depth order (larger = farther): ``values * scale``, clamped to the far limit.

    Invalid values (not finite, not positive) go to the far limit, as Taskonomy's loader does with its
    out-of-range pixels.

    Example:
        >>> import numpy as np
        >>> depth_from_units(np.array([0, 800, 8000]), 1 / 8000).tolist()
        [0.5, 0.10000000149011612, 0.5]

    """
    v = np.asarray(values, dtype=np.float64) * float(scale)
    valid = np.isfinite(v) & (v > 0)
    return np.where(valid, np.minimum(v, FAR), FAR).astype(np.float32)


def align_depth(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A depth map brought to ``size`` = (H, W): as is, resized (same aspect ratio), or resized and centre-cropped.

    A map of another aspect ratio is taken to come from the uncropped image under the CLIP/ImageNet geometry:
    its shorter side is resized to the shorter side of ``size`` and its centre is cropped (bilinear). Engines
    with another geometry must hand maps already aligned with the pixels.

    Example:
        >>> import numpy as np
        >>> align_depth(np.ones((40, 60), np.float32), (32, 32)).shape
        (32, 32)

    """
    d = np.asarray(depth, dtype=np.float32)
    if d.ndim == 3 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 2:
        raise ValueError(f"a depth map must be (H, W), got shape {d.shape}")
    h, w = size
    if d.shape == (h, w):
        return d
    if abs(d.shape[0] / d.shape[1] - h / w) < 0.01:
        return cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
    side = min(h, w)
    scale = side / min(d.shape)
    rh, rw = max(h, round(d.shape[0] * scale)), max(w, round(d.shape[1] * scale))
    resized = cv2.resize(d, (rw, rh), interpolation=cv2.INTER_LINEAR)
    top, left = (rh - h) // 2, (rw - w) // 2
    return np.ascontiguousarray(resized[top : top + h, left : left + w])
