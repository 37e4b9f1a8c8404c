"""Fill patterns: functions of pixel coordinates returning where the second colour of a fill goes (0..1).

Patterns are drawn in image coordinates with a random phase, so a pattern looks the same whatever the shape's
rotation: texture and shape are separate cues (the premise of cue-conflict images).

Example:
    >>> m = pattern_mask("checkered", 16, period=8.0, phase=(0.0, 0.0), center=(8.0, 8.0), seed=0)
    >>> m.shape, float(m.min()), float(m.max())
    ((16, 16), 0.0, 1.0)
    >>> len(PATTERNS)
    16

"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Grid = tuple[np.ndarray, np.ndarray]


def _stripes(u: np.ndarray, duty: float = 0.5) -> np.ndarray:
    return ((u % 1.0) < duty).astype(np.float32)


def _dots(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    dx, dy = (x % 1.0) - 0.5, (y % 1.0) - 0.5
    return ((dx * dx + dy * dy) < radius * radius).astype(np.float32)


def _brick(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    row = np.floor(y)
    xs = x + 0.5 * (row % 2)
    mortar = ((y % 1.0) < 0.22) | (((xs / 2) % 1.0) < 0.11)
    return mortar.astype(np.float32)


def _scales(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    row = np.floor(y)
    xs = x + 0.5 * (row % 2)
    dx, dy = (xs % 1.0) - 0.5, (y % 1.0)
    r = np.sqrt(dx * dx + dy * dy)
    return ((r > 0.38) & (r < 0.58)).astype(np.float32)


#: pattern name -> f(x, y, ring radius, rng) on coordinates already divided by the period
PATTERNS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], np.ndarray]] = {
    "striped": lambda x, y, r, g: _stripes(y),
    "banded": lambda x, y, r, g: _stripes(x),
    "diagonal": lambda x, y, r, g: _stripes((x + y) / 1.4),
    "dotted": lambda x, y, r, g: _dots(x * 1.4, y * 1.4, 0.22),
    "spotted": lambda x, y, r, g: _dots(x / 1.6, y / 1.6, 0.3),
    "checkered": lambda x, y, r, g: ((np.floor(x) + np.floor(y)) % 2).astype(np.float32),
    "grid": lambda x, y, r, g: np.maximum(_stripes(x, 0.25), _stripes(y, 0.25)),
    "hatched": lambda x, y, r, g: np.maximum(_stripes((x + y) / 1.4, 0.25), _stripes((x - y) / 1.4, 0.25)),
    "wavy": lambda x, y, r, g: _stripes(y + 0.35 * np.sin(2 * np.pi * x / 2.2)),
    "zigzag": lambda x, y, r, g: _stripes(y + 0.8 * np.abs((x / 1.5) % 1.0 - 0.5)),
    "ringed": lambda x, y, r, g: _stripes(r),
    "speckled": lambda x, y, r, g: (g.random(x.shape) < 0.35).astype(np.float32),
    "brick": lambda x, y, r, g: _brick(x, y),
    "plaid": lambda x, y, r, g: 0.5 * _stripes(x / 1.7, 0.35) + 0.5 * _stripes(y / 1.7, 0.35),
    "scaly": lambda x, y, r, g: _scales(x, y),
    "dashed": lambda x, y, r, g: _stripes(y, 0.3) * _stripes(x / 1.5 + 0.5 * np.floor(y), 0.6),
}


def pattern_mask(
    name: str,
    size: int,
    period: float,
    phase: tuple[float, float],
    center: tuple[float, float],
    seed: int,
) -> np.ndarray:
    """A ``(size, size)`` float32 mask of pattern ``name``; 1 marks the second colour.

    Args:
        name: a key of :data:`PATTERNS`.
        size: side of the canvas in pixels.
        period: pattern period in pixels.
        phase: offset of the pattern, as fractions of a period.
        center: centre of ring-like patterns (the object centre), in pixels.
        seed: seed of random patterns (``speckled``).

    """
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    x = xs / period + phase[0]
    y = ys / period + phase[1]
    r = np.sqrt((xs - center[0]) ** 2 + (ys - center[1]) ** 2) / period
    rng = np.random.default_rng(seed)
    return PATTERNS[name](x, y, r, rng).astype(np.float32)
