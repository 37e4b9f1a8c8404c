"""Camera motion with depth parallax (xy_motion_blur, z_motion_blur): the mean of frames along a camera path.

3DCC (Kar et al. 2022; ``motion_video/create_motion.py``) renders a camera path with 3D Ken Burns over ``steps``
frames and averages the first ``frames`` of them. The path is set by the *nearest* point of the central region
(the middle half of each side), at depth ``d_near``:

* sideways (``xy``): the camera translates so that this point moves by ``(u, v)`` pixels of a ``frame_width`` px
  frame by the end of the path, ``|u|`` in ``shift_u`` with a random sign and ``v`` in ``shift_v``; a point at
  depth ``d`` moves by ``(u, v) * d_near / d`` (nearer points move more: parallax);
* forward (``z``, ``zoom = [lo, hi)``): the camera also moves forward by ``d_near * (1 - s)``, ``s`` drawn in
  ``zoom``, so the nearest point ends magnified by ``1 / s`` about the image centre, and points move sideways by
  ``(u, v) * d_near * c / d'`` (``c`` the crop fraction of the step, ``d'`` the point's new depth).

Each frame is rendered by backward warping: the pixel at ``p`` takes the colour found where a point of ``p``'s
own depth came from (bilinear, edges repeated). Unlike 3D Ken Burns this needs no point-cloud splatting or
inpainting network and leaves no holes; at depth edges the background behind a moving object is approximated by
the object's neighbours. Shifts are scaled from ``frame_width`` px to the image width. Draws from ``rng``: the
sign of ``u`` (``integers(2)``), ``u`` and ``v`` (``integers``), then ``s`` (``uniform``) for the forward path.

Example:
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> depth = np.full((32, 32), 0.3, np.float32)
    >>> params = {"steps": 60, "shift_u": [50, 75], "shift_v": [-75, 75], "zoom": None, "frame_width": 512}
    >>> bool((camera_motion(img, depth, {**params, "frames": 1}, np.random.default_rng(0)) == img).all())
    True

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

#: a point never comes nearer than this fraction of its depth (it would pass the camera)
MIN_DEPTH_FRACTION = 0.1


def draw_path(params: Mapping[str, Any], width: int, rng: np.random.Generator) -> dict[str, float]:
    """The random path of one image: final shift ``(u, v)`` in pixels of this image and the final crop ``s``."""
    scale = width / float(params["frame_width"])
    u_lo, u_hi = params["shift_u"]
    v_lo, v_hi = params["shift_v"]
    if params["zoom"] is None:  # sideways: |u| in [lo, hi) with a random sign, as the reference
        sign = 1 if int(rng.integers(2)) else -1
        u = sign * int(rng.integers(u_lo, u_hi))
        v = int(rng.integers(v_lo, v_hi))
        s = 1.0
    else:
        u, v = int(rng.integers(u_lo, u_hi)), int(rng.integers(v_lo, v_hi))
        s = float(rng.uniform(*params["zoom"]))
    return {"u": u * scale, "v": v * scale, "s": s}


def nearest_central_depth(depth: np.ndarray) -> float:
    """The smallest depth in the middle half of each side (3D Ken Burns' reference point)."""
    h, w = depth.shape
    return float(depth[h // 4 : h - h // 4, w // 4 : w - w // 4].min())


def camera_motion(
    image: np.ndarray, depth: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Mean of the first ``frames`` of ``steps`` frames along a random camera path (see the module docstring)."""
    h, w = depth.shape
    path = draw_path(params, w, rng)
    steps, frames = int(params["steps"]), int(params["frames"])
    d = depth.astype(np.float32)
    d_near = np.float32(nearest_central_depth(d))
    cy, cx = np.float32((h - 1) / 2.0), np.float32((w - 1) / 2.0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    total = np.zeros_like(image, dtype=np.float32)
    for k in range(frames):
        f = np.float32(k / (steps - 1))
        if k == 0:
            total += image  # the first frame is the image itself (no motion yet)
            continue
        crop = np.float32(1.0 - f * (1.0 - path["s"]))
        d_new = np.maximum(d - d_near * (np.float32(1.0) - crop), d * np.float32(MIN_DEPTH_FRACTION))
        lateral = d_near * crop / d_new
        # target p = centre + (p_src - centre) * d / d_new + f (u, v) lateral  ->  solve for p_src
        ratio = d_new / d
        map_x = cx + (xs - cx - f * np.float32(path["u"]) * lateral) * ratio
        map_y = cy + (ys - cy - f * np.float32(path["v"]) * lateral) * ratio
        total += cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return total / np.float32(frames)
