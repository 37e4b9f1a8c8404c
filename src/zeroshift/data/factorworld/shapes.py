"""Shape outlines as polygons in unit coordinates (centred, farthest vertex at radius 1, y pointing down).

Every class, including the OOD shapes, is one simple polygon, so filling, stroking, rotating and scaling are the
same code for all of them.

Example:
    >>> poly = outline("star")
    >>> poly.shape, round(float(np.abs(poly).max()), 3) <= 1.0
    ((10, 2), True)
    >>> sorted(SHAPES)[:3]
    ['arrow', 'bolt', 'chevron']

"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np


def _circle_points(n: int, rx: float = 1.0, ry: float = 1.0, start: float = 0.0, stop: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(start, stop, n, endpoint=stop - start < 2 * np.pi - 1e-9)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)


def _regular(n: int, phase: float = -np.pi / 2) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _star() -> np.ndarray:
    t = -np.pi / 2 + np.pi * np.arange(10) / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y], axis=1)


def _crescent() -> np.ndarray:
    # the unit disc minus a disc of radius 0.8 centred at (0.45, 0): outer arc, then the inner arc back
    theta = np.arccos((1 - 0.8**2 + 0.45**2) / (2 * 0.45))
    outer = _circle_points(40, start=theta, stop=2 * np.pi - theta)
    phi = np.arctan2(np.sin(theta), np.cos(theta) - 0.45)
    t = np.linspace(-phi, -(2 * np.pi - phi), 32)[1:-1]
    inner = np.stack([0.45 + 0.8 * np.cos(t), 0.8 * np.sin(t)], axis=1)
    return np.concatenate([outer, inner])


def _drop() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    x = np.sin(t) * np.sin(t / 2) ** 1.2
    y = -np.cos(t)
    return np.stack([x * 0.75, y], axis=1)


def _semicircle() -> np.ndarray:
    return _circle_points(40, start=np.pi, stop=2 * np.pi) + [0.0, 0.4]


def _poly(*points: tuple[float, float]) -> Callable[[], np.ndarray]:
    return lambda: np.asarray(points, dtype=np.float64)


#: shape name -> function returning its raw polygon (normalised by :func:`outline`)
SHAPES: dict[str, Callable[[], np.ndarray]] = {
    "circle": lambda: _circle_points(48),
    "square": lambda: _regular(4, np.pi / 4),
    "triangle": lambda: _regular(3),
    "star": _star,
    "heart": _heart,
    "cross": _poly(
        (-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3),
        (0.3, 1), (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3),
    ),
    "hexagon": lambda: _regular(6, 0.0),
    "diamond": _poly((0, -1), (0.55, 0), (0, 1), (-0.55, 0)),
    "crescent": _crescent,
    "arrow": _poly((-1, -0.25), (0.2, -0.25), (0.2, -0.65), (1, 0), (0.2, 0.65), (0.2, 0.25), (-1, 0.25)),
    "oval": lambda: _circle_points(48, 1.0, 0.55),
    "trapezoid": _poly((-1, 0.55), (1, 0.55), (0.5, -0.55), (-0.5, -0.55)),
    "bolt": _poly((0.15, -1), (-0.55, 0.1), (-0.05, 0.1), (-0.25, 1), (0.55, -0.2), (0.05, -0.2), (0.35, -1)),
    "hourglass": _poly((-0.7, -1), (0.7, -1), (0.12, 0), (0.7, 1), (-0.7, 1), (-0.12, 0)),
    "chevron": _poly((-1, -0.5), (-0.45, -0.5), (0, 0.05), (0.45, -0.5), (1, -0.5), (0, 0.7)),
    "drop": _drop,
    # OOD shapes
    "house": _poly((-0.8, 1), (0.8, 1), (0.8, -0.1), (0, -1), (-0.8, -0.1)),
    "tee": _poly((-1, -1), (1, -1), (1, -0.55), (0.25, -0.55), (0.25, 1), (-0.25, 1), (-0.25, -0.55), (-1, -0.55)),
    "ell": _poly((-0.6, -1), (-0.15, -1), (-0.15, 0.55), (0.7, 0.55), (0.7, 1), (-0.6, 1)),
    "semicircle": _semicircle,
}  # fmt: skip


@cache
def outline(name: str) -> np.ndarray:
    """The polygon of shape ``name``: centred on its bounding box, farthest vertex at radius 1."""
    points = SHAPES[name]().astype(np.float64)
    points = points - (points.min(axis=0) + points.max(axis=0)) / 2
    points /= np.sqrt((points**2).sum(axis=1)).max()
    points.setflags(write=False)
    return points


def place(name: str, cx: float, cy: float, radius: float, angle_deg: float) -> np.ndarray:
    """The polygon of ``name`` rotated by ``angle_deg``, scaled to ``radius`` and moved to ``(cx, cy)`` (pixels).

    Example:
        >>> place("square", 10, 10, 5, 0).round(2).tolist()[0]
        [13.54, 13.54]

    """
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return outline(name) @ rot.T * radius + np.array([cx, cy])
