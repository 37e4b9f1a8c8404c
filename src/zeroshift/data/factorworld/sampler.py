"""Sample parameters: everything a FactorWorld image depends on, drawn once per sample from a seeded stream.

A sample is a plain JSON-ready dict: its factor levels (the exact labels), and the continuous values that the
levels resolve to (centre, radius, angle, colours, pattern phase, background crop...). :func:`sample_params`
is a pure function of (split recipe, seed, index), and :func:`render` of the dict, so a sample can be drawn
again anywhere (a loader worker, another machine) and its content key is a digest of the dict.

Example:
    >>> p = sample_params(split_recipe("test"), seed=0, index=3)
    >>> p["shape"], sorted(p["factors"])[:3]
    ('star', ['background', 'colour', 'lighting'])
    >>> p == sample_params(split_recipe("test"), seed=0, index=3)
    True

"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeroshift.data.factorworld.world import World, world
from zeroshift.errors import SpecError

#: radius of the main object (farthest vertex) as a fraction of the image side, per size level
SIZE_RADIUS = {"small": (0.14, 0.2), "medium": (0.22, 0.29), "large": (0.31, 0.4)}
#: distance of the object centre from the image centre, per position level (``cropped`` is set by the edge)
POSITION_OFFSET = {"center": (0.0, 0.04), "off_center": (0.1, 0.22)}
#: rotation in degrees per level (``tilted`` takes either sign)
ROTATION = {"upright": (-8.0, 8.0), "tilted": (15.0, 75.0), "inverted": (165.0, 195.0)}
#: fraction of the object's bounding box an occluder covers
OCCLUSION = {"partial": (0.25, 0.35), "heavy": (0.45, 0.6)}


@dataclass(frozen=True)
class Recipe:
    """How the samples of one split are drawn (a ``splits`` entry of world.yaml).

    Attributes:
        name: split name (part of every sample's seed stream).
        distribution: the sampling distribution (``narrow``, ``diverse``).
        fixed: factor levels set for every sample (e.g. ``{"style": "sketch"}``).
        vary_one: factors varied one per sample over all their levels (the per-factor split).
        ood: draw the OOD shapes instead of the training classes.
        cue_conflict: draw each shape with the pattern and colour tied to another class.

    """

    name: str
    distribution: str
    fixed: dict[str, str] = field(default_factory=dict)
    vary_one: tuple[str, ...] = ()
    ood: bool = False
    cue_conflict: bool = False

    @property
    def record(self) -> dict[str, Any]:
        """What is recorded about the split."""
        return {
            "split": self.name,
            "distribution": self.distribution,
            "fixed": dict(self.fixed),
            "vary_one": list(self.vary_one),
            "ood": self.ood,
            "cue_conflict": self.cue_conflict,
        }


def split_recipe(name: str) -> Recipe:
    """The recipe of a benchmark split of world.yaml."""
    splits = world().raw["splits"]
    if name not in splits:
        raise SpecError(f"factorworld has no split {name!r}; known: {', '.join(splits)}")
    entry = splits[name]
    return Recipe(
        name,
        entry["distribution"],
        dict(entry.get("set", {})),
        tuple(entry.get("vary_one", ())),
        entry.get("classes") == "ood",
        bool(entry.get("cue_conflict", False)),
    )


def training_recipe(distribution: str) -> Recipe:
    """The recipe of a training set drawn from ``distribution`` (a stream disjoint from every test split)."""
    if distribution not in world().distributions:
        raise SpecError(f"factorworld has no distribution {distribution!r}; known: {', '.join(world().distributions)}")
    return Recipe(f"train:{distribution}", distribution)


def sample_rng(*parts: Any) -> np.random.Generator:
    """A generator seeded by a digest of ``parts`` (stable across processes and Python versions)."""
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.asarray([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _rgb(w: World, name: str, rng: np.random.Generator, jitter: float = 14.0) -> list[float]:
    base = np.asarray(w.colours[name], dtype=np.float64)
    return [round(float(v), 2) for v in np.clip(base + rng.normal(0, jitter, 3), 0, 255)]


def _far_colour(w: World, rgb: list[float], rng: np.random.Generator, min_dist: float = 150.0) -> str:
    """A palette colour far enough from ``rgb`` to keep the object visible."""
    names = [n for n, c in w.colours.items() if np.linalg.norm(np.subtract(c, rgb)) >= min_dist]
    return str(rng.choice(names))


def vary_one_levels(w: World, factors: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (factor, level) pair of a per-factor split, in order (``colour`` levels are the colour names)."""
    pairs = []
    for f in factors:
        levels = tuple(w.colours) if f == "colour" else w.factors[f]
        pairs.extend((f, level) for level in levels)
    return pairs


def sample_params(recipe: Recipe, seed: int, index: int, w: World | None = None) -> dict[str, Any]:
    """The parameters of sample ``index`` of a split (see the module docstring)."""
    w = w or world()
    rng = sample_rng("factorworld", w.version, recipe.name, seed, index)
    dist = w.distributions[recipe.distribution]
    levels = {f: _choose(rng, weights) for f, weights in dist.items()}
    levels.update(recipe.fixed)
    classes = w.ood_classes if recipe.ood else w.classes
    shape = classes[index % len(classes)]
    colour_level = levels.pop("colour")
    fixed_colour: str | None = None
    varied: str | None = None
    if recipe.vary_one:
        pairs = vary_one_levels(w, recipe.vary_one)
        varied, level = pairs[index % len(pairs)]
        shape = classes[(index // len(pairs) + index) % len(classes)]
        if varied == "colour":
            while level in w.held_out_colours(shape):  # keep the split free of held-out combinations
                shape = classes[(classes.index(shape) + 1) % len(classes)]
            fixed_colour = level
        else:
            levels[varied] = level
    texture_of = shape  # the class whose pattern and usual colours the object wears
    if recipe.cue_conflict:
        n = len(classes)
        pair = index % (n * (n - 1))
        shape = classes[pair // (n - 1)]
        texture_of = classes[(pair // (n - 1) + 1 + pair % (n - 1)) % n]
        levels["texture"] = "signature"
        colour_level = "typical"
    # colour
    if fixed_colour is not None:
        colour = fixed_colour
    elif colour_level == "held_out":
        colour = str(rng.choice(w.held_out_colours(shape)))
    elif colour_level == "typical":
        colour = str(rng.choice(w.typical_colours(texture_of)))
    else:
        colour = str(rng.choice(w.allowed_colours(shape)))
    # fill pattern
    texture: str | None = levels["texture"]
    if texture == "signature" and texture_of in w.classes:
        pattern: str | None = w.signature_pattern(texture_of)
        texture = "conflict" if texture_of != shape else texture
    elif texture == "solid":
        pattern = None
    else:  # `other`, or `signature` of a shape that has none (OOD)
        others = [p for p in w.patterns if shape not in w.classes or p != w.signature_pattern(shape)]
        pattern, texture = str(rng.choice(others)), "other"
    style = levels["style"]
    if style in ("outline", "sketch"):
        pattern, texture = None, None  # no fill to carry a pattern
    # geometry
    radius = float(rng.uniform(*SIZE_RADIUS[levels["size"]]))
    angle = float(rng.uniform(*ROTATION[levels["rotation"]])) * (
        1 if levels["rotation"] != "tilted" or rng.random() < 0.5 else -1
    )
    direction = float(rng.uniform(0, 2 * np.pi))
    if levels["position"] == "cropped":
        # put the centre so that 20-55% of the radius sticks out of the frame
        dist_to_edge = radius * float(rng.uniform(0.2, 0.55))
        dx, dy = np.cos(direction), np.sin(direction)
        t = (0.5 - dist_to_edge) / max(abs(dx), abs(dy))
        cx, cy = 0.5 + t * dx, 0.5 + t * dy
    else:
        offset = float(rng.uniform(*POSITION_OFFSET[levels["position"]]))
        lo, hi = radius + 0.02, 1 - radius - 0.02
        cx = float(np.clip(0.5 + offset * np.cos(direction), lo, hi)) if lo < hi else 0.5
        cy = float(np.clip(0.5 + offset * np.sin(direction), lo, hi)) if lo < hi else 0.5
    rgb = _rgb(w, colour, rng)
    obj = {
        "shape": shape,
        "cx": round(float(cx), 4),
        "cy": round(float(cy), 4),
        "r": round(radius, 4),
        "angle": round(angle, 2),
        "rgb": rgb,
        "pattern": pattern,
        "period": round(float(rng.uniform(0.07, 0.1)), 4),
        "phase": [round(float(v), 3) for v in rng.random(2)],
    }
    params: dict[str, Any] = {
        "generator": w.version,
        "shape": shape,
        "obj": obj,
        "bg": _background(w, levels["background"], rgb, rng),
        "extras": _extras(w, levels["objects"], obj, rng),
        "occluder": _occluder(w, levels["occlusion"], obj, rng),
        "light": _light(levels["lighting"], rng),
        "word": _word(levels.get("word", "none"), shape, w, obj, rng),
        "seed": int(rng.integers(0, 2**31 - 1)),
    }
    params["factors"] = {
        "style": style,
        "background": levels["background"],
        "texture": texture,
        "colour": colour,
        "pattern": pattern,
        "size": levels["size"],
        "position": levels["position"],
        "rotation": levels["rotation"],
        "occlusion": levels["occlusion"],
        "objects": levels["objects"],
        "lighting": levels["lighting"],
        "word": params["word"]["text"] if params["word"] else None,
        "texture_class": texture_of if recipe.cue_conflict else None,
        "varied": varied,
    }
    return params


def _background(w: World, kind: str, obj_rgb: list[float], rng: np.random.Generator) -> dict[str, Any]:
    if kind == "plain":
        return {"kind": kind, "colour": (c := _far_colour(w, obj_rgb, rng)), "rgb": _rgb(w, c, rng, 10)}
    if kind == "gradient":
        c1, c2 = _far_colour(w, obj_rgb, rng), _far_colour(w, obj_rgb, rng, 110.0)
        return {
            "kind": kind,
            "colour": c1,
            "rgb": _rgb(w, c1, rng, 10),
            "rgb2": _rgb(w, c2, rng, 10),
            "angle": round(float(rng.uniform(0, 360)), 1),
        }
    if kind == "clutter":
        c = _far_colour(w, obj_rgb, rng, 120.0)
        return {"kind": kind, "colour": c, "rgb": _rgb(w, c, rng, 10), "n": int(rng.integers(12, 24))}
    if kind == "texture":
        photo = str(rng.choice(w.raw["texture_photos"]))
        c = _far_colour(w, obj_rgb, rng, 110.0)
        return {"kind": kind, "photo": photo, "colour": c, "rgb": _rgb(w, c, rng, 10)}
    if kind == "photo":
        return {"kind": kind, "photo": str(rng.choice(w.raw["scene_photos"]))}
    raise SpecError(f"unknown factorworld background {kind!r}")


def _extras(w: World, level: str, obj: dict[str, Any], rng: np.random.Generator) -> list[dict[str, Any]]:
    count = {"one": 0, "two": 1, "three": 2}[level]
    extras = []
    taken = [(obj["cx"], obj["cy"], obj["r"])]
    others = [c for c in w.classes if c != obj["shape"]]
    for _ in range(count):
        r = obj["r"] * float(rng.uniform(0.45, 0.65))
        best, best_gap = (0.5, 0.5), -np.inf
        for _try in range(12):  # the position farthest from what is already drawn
            x, y = rng.uniform(r, 1 - r, 2)
            gap = min(np.hypot(x - tx, y - ty) - tr - r for tx, ty, tr in taken)
            if gap > best_gap:
                best, best_gap = (float(x), float(y)), gap
        shape = str(rng.choice(others))
        colour = str(rng.choice(w.allowed_colours(shape)))
        extras.append(
            {
                "shape": shape,
                "colour": colour,
                "cx": round(best[0], 4),
                "cy": round(best[1], 4),
                "r": round(r, 4),
                "angle": round(float(rng.uniform(0, 360)), 2),
                "rgb": _rgb(w, colour, rng),
                "pattern": None,
                "period": 0.08,
                "phase": [0.0, 0.0],
            }
        )
        taken.append((best[0], best[1], r))
    return extras


def _occluder(w: World, level: str, obj: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | None:
    if level == "none":
        return None
    frac = float(rng.uniform(*OCCLUSION[level]))
    r, cx, cy = obj["r"], obj["cx"], obj["cy"]
    side = str(rng.choice(["left", "right", "top", "bottom"]))
    x0, y0, x1, y1 = cx - r, cy - r, cx + r, cy + r
    cut = 2 * r * frac
    box = {
        "left": (x0 - 0.05, y0 - 0.05, x0 + cut, y1 + 0.05),
        "right": (x1 - cut, y0 - 0.05, x1 + 0.05, y1 + 0.05),
        "top": (x0 - 0.05, y0 - 0.05, x1 + 0.05, y0 + cut),
        "bottom": (x0 - 0.05, y1 - cut, x1 + 0.05, y1 + 0.05),
    }[side]
    colour = _far_colour(w, obj["rgb"], rng, 120.0)
    return {"box": [round(float(v), 4) for v in box], "colour": colour, "rgb": _rgb(w, colour, rng, 8)}


def _light(level: str, rng: np.random.Generator) -> dict[str, Any]:
    if level == "dim":
        return {"kind": level, "gain": round(float(rng.uniform(0.4, 0.6)), 3)}
    if level == "bright":
        return {"kind": level, "gain": round(float(rng.uniform(1.25, 1.5)), 3), "lift": 0.12}
    if level == "side":
        return {"kind": level, "angle": round(float(rng.uniform(0, 360)), 1), "low": 0.3, "high": 1.15}
    if level == "tinted":
        warm = bool(rng.random() < 0.5)
        return {"kind": level, "tint": [1.15, 0.95, 0.7] if warm else [0.7, 0.92, 1.2]}
    return {"kind": "normal"}


def _word(level: str, shape: str, w: World, obj: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | None:
    if level == "none":
        return None
    if level == "label":
        text = shape
    elif level == "wrong":
        text = str(rng.choice([c for c in w.classes if c != shape]))
    else:
        raise SpecError(f"unknown factorworld word level {level!r}")
    dark = bool(rng.random() < 0.5)
    # above or below the object, where it fits, so the shape stays visible
    below, above = obj["cy"] + obj["r"] + 0.08, obj["cy"] - obj["r"] - 0.08
    fits = [y for y in (below, above) if 0.1 <= y <= 0.9]
    y = float(rng.choice(fits)) if fits else float(np.clip(below if obj["cy"] < 0.5 else above, 0.1, 0.9))
    return {
        "text": text,
        "y": round(y, 3),
        "size": round(float(rng.uniform(0.17, 0.22)), 3),
        "rgb": [20, 20, 20] if dark else [245, 245, 245],
        "stroke": [245, 245, 245] if dark else [20, 20, 20],
    }


def params_digest(params: dict[str, Any]) -> str:
    """A digest of a sample's parameters (the variable part of its content key)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]
