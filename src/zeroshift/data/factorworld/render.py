"""Draw a FactorWorld sample from its parameters: background, other objects, the main object in its style,
occluder, written word, lighting. Shape masks are drawn at ``supersample`` x the size and box-filtered down
(anti-aliased edges); everything else is composed at the final size, which keeps a sample near a millisecond.

Rendering is a pure function of the parameter dict (random details such as clutter or stipple dots come from
``params["seed"]``), so a sample is bit-identical wherever it is drawn.

Example:
    >>> from zeroshift.data.factorworld.sampler import sample_params, split_recipe
    >>> img = render(sample_params(split_recipe("test"), seed=0, index=0))
    >>> img.size, img.mode
    ((64, 64), 'RGB')

"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zeroshift.data.factorworld.patterns import pattern_mask
from zeroshift.data.factorworld.photos import photo_crop
from zeroshift.data.factorworld.shapes import place
from zeroshift.data.factorworld.world import world

#: bumped whenever the same parameters would draw different pixels (part of every content key)
RENDER_VERSION = 1


def render(params: dict[str, Any]) -> Image.Image:
    """The RGB image of one sample (see the module docstring)."""
    w = world()
    ss = w.supersample
    size = w.image_size
    rng = np.random.default_rng(params["seed"])
    canvas = background(params["bg"], size, rng)
    style = params["factors"]["style"]
    for extra in params["extras"]:
        draw_object(canvas, extra, style, size, ss, rng)
    draw_object(canvas, params["obj"], style, size, ss, rng)
    if params["occluder"]:
        x0, y0, x1, y1 = (int(round(v * size)) for v in params["occluder"]["box"])
        canvas[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = np.asarray(params["occluder"]["rgb"]) / 255.0
    if params["word"]:
        canvas = write_word(canvas, params["word"], size)
    canvas = light(canvas, params["light"], size)
    return Image.fromarray((np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8))


@cache
def _ramp(size: int, angle: float) -> np.ndarray:
    """A linear 0..1 ramp across the canvas in direction ``angle`` (degrees)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    a = np.deg2rad(angle)
    t = (xs - 0.5) * np.cos(a) + (ys - 0.5) * np.sin(a)
    return ((t - t.min()) / (t.max() - t.min()))[..., None]


def background(bg: dict[str, Any], size: int, rng: np.random.Generator) -> np.ndarray:
    """The background as a float32 ``(size, size, 3)`` array in [0, 1]."""
    kind = bg["kind"]
    if kind == "photo":
        return photo_crop(bg["photo"], size, rng)
    base = np.empty((size, size, 3), dtype=np.float32)
    base[:] = np.asarray(bg["rgb"], dtype=np.float32) / 255.0
    if kind == "gradient":
        ramp = _ramp(size, round(bg["angle"]))
        return base * (1 - ramp) + (np.asarray(bg["rgb2"], dtype=np.float32) / 255.0) * ramp
    if kind == "texture":
        # a greyscale texture photo, contrast-stretched and tinted with the background colour
        tex = photo_crop(bg["photo"], size, rng).mean(axis=2, keepdims=True)
        tex = (tex - tex.mean()) / (tex.std() + 1e-6)
        return np.clip(base * (1.0 + 0.35 * tex), 0, 1)
    if kind == "clutter":
        img = Image.fromarray((base * 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        palette = list(world().colours.values())
        for _ in range(bg["n"]):
            colour = tuple(int(c) for c in palette[int(rng.integers(len(palette)))])
            x, y = rng.uniform(0, size, 2)
            dx, dy = rng.uniform(-0.2, 0.2, 2) * size
            width = int(rng.integers(1, 3))
            kind_of = int(rng.integers(3))
            box = [min(x, x + dx), min(y, y + dy), max(x, x + dx), max(y, y + dy)]
            if kind_of == 0:
                draw.line([x, y, x + dx, y + dy], fill=colour, width=width)
            elif kind_of == 1:
                draw.ellipse(box, outline=colour, width=width)
            else:
                draw.rectangle(box, outline=colour, width=width)
        return np.asarray(img, dtype=np.float32) / 255.0
    return base


def _mask(points: np.ndarray, size: int, ss: int, fill: bool = True, width: float = 0.0) -> np.ndarray:
    """Coverage in [0, 1] of a polygon (``points`` in final pixels), drawn ``ss`` times larger and reduced."""
    img = Image.new("L", (size * ss, size * ss), 0)
    xy = [tuple(p) for p in (points * ss).tolist()]
    draw = ImageDraw.Draw(img)
    if fill:
        draw.polygon(xy, fill=255)
    if width:
        draw.line(xy + [xy[0]], fill=255, width=max(1, int(round(width * ss))), joint="curve")
    if ss > 1:
        img = img.reduce(ss)
    return np.asarray(img, dtype=np.float32) / 255.0


def _second_colour(rgb: np.ndarray) -> np.ndarray:
    """The pattern's second colour: the object colour pushed towards black (light colours) or white."""
    luminance = float(rgb @ np.array([0.299, 0.587, 0.114]))
    target = 0.0 if luminance > 0.5 else 1.0
    return rgb * 0.4 + target * 0.6


def draw_object(
    canvas: np.ndarray, obj: dict[str, Any], style: str, size: int, ss: int, rng: np.random.Generator
) -> None:
    """Draw one object in ``style`` onto ``canvas`` (in place)."""
    points = place(obj["shape"], obj["cx"] * size, obj["cy"] * size, obj["r"] * size, obj["angle"])
    rgb = np.asarray(obj["rgb"], dtype=np.float32) / 255.0
    stroke = max(0.75, obj["r"] * size * 0.12)
    if style == "outline":
        _paint(canvas, _mask(points, size, ss, fill=False, width=stroke), rgb)
        return
    if style == "sketch":
        # pencil strokes: the contour traced twice with jitter, and hatching inside, in dark grey, no colour
        pencil = np.full(3, rng.uniform(0.15, 0.35), dtype=np.float32)
        fill = _mask(points, size, ss)
        hatch = pattern_mask("diagonal", size, 3.0, (0.0, 0.0), (0.0, 0.0), 0) * fill
        _paint(canvas, 0.45 * hatch, pencil)
        for _ in range(2):
            jitter = points + rng.normal(0, 0.6, points.shape)
            _paint(canvas, _mask(jitter, size, ss, fill=False, width=0.8), pencil)
        return
    fill = _mask(points, size, ss)
    colour = np.broadcast_to(rgb, canvas.shape).copy()
    if obj["pattern"]:
        period = obj["period"] * size
        m = pattern_mask(
            obj["pattern"],
            size,
            period,
            tuple(obj["phase"]),
            (obj["cx"] * size, obj["cy"] * size),
            int(rng.integers(2**31)),
        )[..., None]
        colour = colour * (1 - m) + _second_colour(rgb) * m
    if style == "stipple":
        # dots of the object's colours inside the shape; the background shows between them
        dots = (rng.random((size, size)) < 0.45).astype(np.float32)
        _paint(canvas, fill * dots, colour)
        return
    _paint(canvas, fill, colour)
    if style == "cartoon":
        _paint(canvas, _mask(points, size, ss, fill=False, width=stroke * 0.8), np.zeros(3, np.float32))


def _paint(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    a = alpha[..., None]
    canvas *= 1 - a
    canvas += a * colour


@cache
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def write_word(canvas: np.ndarray, word: dict[str, Any], size: int) -> np.ndarray:
    """Write ``word["text"]`` centred horizontally at height ``word["y"]``, shrunk to fit the width."""
    img = Image.fromarray((np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    px = max(6, int(word["size"] * size))
    stroke = 1
    while px > 6:
        left, top, right, bottom = draw.textbbox((0, 0), word["text"], font=_font(px), stroke_width=stroke)
        if right - left <= 0.94 * size:
            break
        px -= 1
    left, top, right, bottom = draw.textbbox((0, 0), word["text"], font=_font(px), stroke_width=stroke)
    x = (size - (right - left)) / 2 - left
    y = word["y"] * size - (bottom - top) / 2 - top
    draw.text(
        (x, y),
        word["text"],
        font=_font(px),
        fill=tuple(word["rgb"]),
        stroke_width=stroke,
        stroke_fill=tuple(word["stroke"]),
    )
    return np.asarray(img, dtype=np.float32) / 255.0


def light(canvas: np.ndarray, spec: dict[str, Any], size: int) -> np.ndarray:
    """Apply the lighting of a sample to the whole scene."""
    kind = spec["kind"]
    if kind == "dim":
        return canvas * spec["gain"]
    if kind == "bright":
        return canvas * spec["gain"] + spec["lift"]
    if kind == "side":
        ramp = _ramp(size, round(spec["angle"]))
        return canvas * (spec["low"] + (spec["high"] - spec["low"]) * ramp)
    if kind == "tinted":
        return canvas * np.asarray(spec["tint"], dtype=np.float32)
    return canvas
