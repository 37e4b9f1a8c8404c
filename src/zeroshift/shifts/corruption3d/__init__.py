"""The 12 corruptions of ImageNet-3DCC (Kar et al., CVPR 2022), written from the paper's definitions.

Depth-dependent: near_focus and far_focus (depth of field), fog_3d, flash, xy_motion_blur and z_motion_blur
(camera motion with parallax). Without depth: low_light, iso_noise, color_quant, and the video-codec trio
bit_error, h265_crf and h265_abr (FFmpeg's libx264/libx265 through PyAV). Parameters per severity, with their
sources and zeroshift's adaptations, live in ``_info/corruption3d.yaml``; severity 0 gives each corruption's
identity parameters.

Conventions: ``image`` is (H, W, 3) float in [0, 1]; ``depth`` is (H, W), positive, larger = farther, in 3DCC's
units (ImageNet maps span about 0.008..0.5: see :mod:`zeroshift.depth.convert`, which also turns monocular
inverse depth into these units); ``rng`` is a :class:`numpy.random.Generator`, the only source of randomness,
so a corruption is a pure function of (image, depth, parameters, generator state). Outputs are float32 in [0, 1].

Example:
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> depth = np.linspace(0.05, 0.5, 32 * 32, dtype=np.float32).reshape(32, 32)
    >>> out = corrupt3d(img, depth, "fog_3d", 5, np.random.default_rng(0))
    >>> out.shape, out.dtype, bool(out.std() < img.std())
    ((32, 32, 3), dtype('float32'), True)
    >>> corrupt3d(img, None, "near_focus", 1, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: near_focus needs a depth map

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zeroshift.shifts.corruption3d import codec, focus, light, motion, sensor
from zeroshift.shifts.corruption3d.table import CorruptionDef, table

Op = Callable[[np.ndarray, "np.ndarray | None", Mapping[str, Any], np.random.Generator], np.ndarray]

#: the operations the table's ``op`` fields name
OPS: dict[str, Op] = {
    "depth_of_field": focus.depth_of_field,
    "fog": light.fog,
    "flash": light.flash,
    "camera_motion": motion.camera_motion,
    "low_light": sensor.low_light,
    "sensor_noise": sensor.sensor_noise,
    "posterize": sensor.posterize,
    "bit_error": codec.bit_error,
    "h265": codec.h265,
}

#: the 12 corruptions, in ImageNet-3DCC's order
NAMES: tuple[str, ...] = table().names()
#: those that need a depth map
DEPTH_NAMES: tuple[str, ...] = tuple(n for n in NAMES if table()[n].depth)


def definition(name: str) -> CorruptionDef:
    """The table entry of ``name`` (KeyError for unknown names; the shift checks names with a suggestion)."""
    return table()[name]


def severity_params(name: str, severity: int) -> dict[str, Any]:
    """The parameters of ``name`` at ``severity`` 1..5, or its identity parameters at 0.

    Example:
        >>> severity_params("iso_noise", 2)
        {'photons': 25.0, 'sigma': 0.084}

    """
    if not 0 <= severity <= 5:
        raise ValueError(f"severity must be 0..5, got {severity}")
    return definition(name).params(severity)


def check_inputs(image: np.ndarray, depth: np.ndarray | None, name: str) -> None:
    """Raise ValueError on an image or depth map the corruptions cannot take."""
    if image.ndim != 3 or image.shape[2] != 3 or not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"{name}: expected an (H, W, 3) float image in [0, 1], got {image.dtype} {image.shape}")
    if definition(name).depth:
        if depth is None:
            raise ValueError(f"{name} needs a depth map")
        if depth.shape != image.shape[:2]:
            raise ValueError(f"{name}: depth map {depth.shape} does not match the image {image.shape[:2]}")
        if not np.isfinite(depth).all() or float(depth.min()) <= 0:
            raise ValueError(f"{name}: depth must be finite and positive (larger = farther)")


def apply_corruption3d(
    image: np.ndarray, depth: np.ndarray | None, name: str, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Corrupt ``image`` with explicit parameters (see :func:`severity_params`); float32 in [0, 1].

    Example:
        >>> import numpy as np
        >>> img = np.full((32, 32, 3), 0.5, np.float32)
        >>> float(apply_corruption3d(img, None, "low_light", severity_params("low_light", 0), None).max())
        0.5

    """
    check_inputs(image, depth, name)
    x = np.ascontiguousarray(image, dtype=np.float32)
    d = None if depth is None else np.ascontiguousarray(depth, dtype=np.float32)
    out = OPS[definition(name).op](x, d, params, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def corrupt3d(
    image: np.ndarray, depth: np.ndarray | None, name: str, severity: int, rng: np.random.Generator
) -> np.ndarray:
    """Corrupt ``image`` with ``name`` at ``severity`` (0 = identity parameters, 1..5 the benchmark's)."""
    return apply_corruption3d(image, depth, name, severity_params(name, severity), rng)


__all__ = [
    "DEPTH_NAMES",
    "NAMES",
    "OPS",
    "apply_corruption3d",
    "check_inputs",
    "corrupt3d",
    "definition",
    "severity_params",
]
