"""Near-duplicate copies of images for threshold calibration: JPEG re-encoding, resizing, cropping, mirroring and
colour jitter, declared in ``_info/plants.yaml`` as named chains of steps.

Each step kind is a function ``(image, rng, **params) -> image`` in :data:`PLANT_KINDS`; ranges in the YAML
(``brightness: [0.8, 1.2]``) are drawn per copy from the generator, so a seed reproduces every copy.

Example:
    >>> from PIL import Image
    >>> plants = load_plants(["resize0.5", "flip"])
    >>> image = Image.new("RGB", (40, 20), "red")
    >>> [p.apply(image, np.random.default_rng(0)).size for p in plants]
    [(20, 10), (40, 20)]
    >>> plants[0].group
    'resized'

"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml
from PIL import Image, ImageEnhance, ImageOps

from zeroshift.errors import SpecError


def _jpeg(image: Image.Image, rng: np.random.Generator, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=int(quality))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _resize(image: Image.Image, rng: np.random.Generator, scale: float) -> Image.Image:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def _crop(image: Image.Image, rng: np.random.Generator, keep: float) -> Image.Image:
    """A window of ``keep`` times each side at a random position."""
    w, h = max(1, round(image.width * keep)), max(1, round(image.height * keep))
    left = int(rng.integers(0, image.width - w + 1))
    top = int(rng.integers(0, image.height - h + 1))
    return image.crop((left, top, left + w, top + h))


def _hflip(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.mirror(image)


def _draw(rng: np.random.Generator, value: float | Sequence[float]) -> float:
    return float(rng.uniform(value[0], value[1])) if isinstance(value, list | tuple) else float(value)


def _jitter(image: Image.Image, rng: np.random.Generator, brightness: Any = 1.0, contrast: Any = 1.0,
            saturation: Any = 1.0) -> Image.Image:  # fmt: skip
    """Brightness, contrast and saturation scaled by factors drawn from their ranges (PIL's enhancers)."""
    image = ImageEnhance.Brightness(image).enhance(_draw(rng, brightness))
    image = ImageEnhance.Contrast(image).enhance(_draw(rng, contrast))
    return ImageEnhance.Color(image).enhance(_draw(rng, saturation))


#: step kinds of plants.yaml
PLANT_KINDS: dict[str, Callable[..., Image.Image]] = {
    "jpeg": _jpeg,
    "resize": _resize,
    "crop": _crop,
    "hflip": _hflip,
    "jitter": _jitter,
}


@dataclass(frozen=True)
class Plant:
    """A named chain of steps that makes a near-duplicate copy.

    Attributes:
        name: e.g. ``jpeg75``.
        group: what it stands for (``reencoded``, ``resized``, ``cropped``, ``flipped``, ``jittered``).
        steps: ``({"kind": ..., **params}, ...)``.

    """

    name: str
    group: str
    steps: tuple[dict[str, Any], ...]

    def apply(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        """The copy of ``image``."""
        out = image
        for step in self.steps:
            params = {k: v for k, v in step.items() if k != "kind"}
            out = PLANT_KINDS[step["kind"]](out, rng, **params)
        return out.convert("RGB")


def _table() -> dict[str, Any]:
    return yaml.safe_load((resources.files("zeroshift.overlap") / "_info" / "plants.yaml").read_text())


def load_plants(names: Sequence[str] | None = None) -> list[Plant]:
    """The plants of plants.yaml (all, or those named, in the given order).

    Raises:
        SpecError: an unknown plant name, or a step of unknown kind.

    """
    table = _table()["plants"]
    chosen = list(names) if names is not None else list(table)
    plants = []
    for name in chosen:
        if name not in table:
            raise SpecError(f"unknown plant {name!r}; known: {', '.join(table)}")
        steps = tuple(dict(s) for s in table[name]["steps"])
        for step in steps:
            if step.get("kind") not in PLANT_KINDS:
                raise SpecError(
                    f"plant {name!r}: unknown step kind {step.get('kind')!r}; known: {', '.join(PLANT_KINDS)}"
                )
        plants.append(Plant(name, table[name]["group"], steps))
    return plants


def required_recall() -> dict[str, Any]:
    """What the default flag must achieve: the groups, their minimum recall and the maximum false-positive rate.

    Example:
        >>> required_recall()["groups"]
        ['reencoded', 'resized']

    """
    return dict(_table()["required"])
