"""The exact depth map of a FactorWorld sample: a stack of flat cards (``_info/depth.yaml``).

A sample's depth is a pure function of its parameter dict, like its pixels (:func:`render_depth`), and leaves
the renderer untouched: the RGB image of every sample is the same with or without depth. The scene is the
background plane (nearer towards the bottom), the other objects and the main object as cards parallel to the
image at ``object_scale / r`` (nearer when larger; the other objects, smaller than the main one, lie behind it
and in front of the background; the values mimic 3DCC's depth of ImageNet photos, where the object is near and
the background far), and an occluder in front of the main object. Each card covers its shape's
polygon, whatever the style paints on it (outline, sketch and stipple objects are cards too). Written words lie
on the surface they are written over. Units are 3DCC's (:mod:`zeroshift.depth.convert`).

Example:
    >>> from zeroshift.data.factorworld.sampler import sample_params, split_recipe
    >>> p = sample_params(split_recipe("test"), seed=0, index=0)
    >>> d = render_depth(p)
    >>> d.shape, d.dtype, float(d.max()) <= 0.5
    ((64, 64), dtype('float32'), True)
    >>> float(d[int(p["obj"]["cy"] * 64), int(p["obj"]["cx"] * 64)]) == object_depth(p["obj"]["r"])
    True

"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from zeroshift.data.factorworld.render import _mask
from zeroshift.data.factorworld.shapes import place
from zeroshift.data.factorworld.world import world


@dataclass(frozen=True)
class DepthSpec:
    """The parsed ``_info/depth.yaml`` (see the file for the fields)."""

    raw: dict[str, Any]
    digest: str

    @property
    def key(self) -> str:
        """Version and digest of the depth definition (part of every depth map's cache key)."""
        return f"d{self.raw['version']}.{self.digest}"


@cache
def depth_spec() -> DepthSpec:
    """The depth definition shipped with zeroshift (parsed once per process)."""
    text = (resources.files("zeroshift.data.factorworld") / "_info" / "depth.yaml").read_text(encoding="utf-8")
    return DepthSpec(yaml.safe_load(text), hashlib.sha256(text.encode()).hexdigest()[:16])


def object_depth(radius: float) -> float:
    """Depth of a card of this radius (fraction of the image side), before any clamp.

    Example:
        >>> round(object_depth(0.2), 4)
        0.02

    """
    return float(np.float32(depth_spec().raw["object_scale"] / radius))


@cache
def _background(size: int, top: float, bottom: float) -> np.ndarray:
    plane = np.linspace(top, bottom, size, dtype=np.float32)[:, None] * np.ones((1, size), np.float32)
    plane.setflags(write=False)
    return plane


def render_depth(params: dict[str, Any]) -> np.ndarray:
    """The (size, size) float32 depth map of one sample (see the module docstring)."""
    spec = depth_spec().raw
    w = world()
    size, ss = w.image_size, w.supersample
    depth = _background(size, spec["background"]["top"], spec["background"]["bottom"]).copy()
    coverage = spec["coverage"]

    def card(obj: dict[str, Any], value: float) -> None:
        points = place(obj["shape"], obj["cx"] * size, obj["cy"] * size, obj["r"] * size, obj["angle"])
        depth[_mask(points, size, ss) >= coverage] = value

    for extra in params["extras"]:  # drawn before the main object, as the renderer paints them
        card(extra, min(object_depth(extra["r"]), spec["objects_max"]))
    main = object_depth(params["obj"]["r"])
    card(params["obj"], main)
    if params["occluder"]:
        x0, y0, x1, y1 = (int(round(v * size)) for v in params["occluder"]["box"])
        depth[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = np.float32(main * spec["occluder_fraction"])
    return depth
