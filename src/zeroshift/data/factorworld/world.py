"""The label data of FactorWorld (``_info/world.yaml``), read once: classes, colours, patterns, factor levels,
sampling distributions, held-out values and caption words.

Example:
    >>> w = world()
    >>> len(w.classes), w.classes[0], w.signature_pattern("circle")
    (16, 'circle', 'striped')
    >>> w.allowed_colours("circle")[:3]
    ('red', 'orange', 'yellow')

"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class World:
    """The parsed ``world.yaml`` (see the file for the meaning of each field)."""

    raw: dict[str, Any]
    digest: str

    @property
    def version(self) -> int:
        """Generator version (part of every content key)."""
        return int(self.raw["version"])

    @property
    def image_size(self) -> int:
        """Side of the rendered square images in pixels."""
        return int(self.raw["image_size"])

    @property
    def supersample(self) -> int:
        """Render scale before box-filtering down to :attr:`image_size`."""
        return int(self.raw["supersample"])

    @property
    def classes(self) -> tuple[str, ...]:
        """The 16 training classes in label order."""
        return tuple(self.raw["classes"])

    @property
    def ood_classes(self) -> tuple[str, ...]:
        """Shapes outside the training classes."""
        return tuple(self.raw["ood_classes"])

    @property
    def colours(self) -> dict[str, tuple[int, int, int]]:
        """Named colours (sRGB 0-255)."""
        return {k: tuple(v) for k, v in self.raw["colours"].items()}

    @property
    def patterns(self) -> tuple[str, ...]:
        """Fill patterns; pattern ``i`` is the signature of class ``i``."""
        return tuple(self.raw["patterns"])

    @property
    def factors(self) -> dict[str, tuple[str, ...]]:
        """Every factor and its levels."""
        return {k: tuple(v) for k, v in self.raw["factors"].items()}

    @property
    def held_out(self) -> dict[str, tuple[str, ...]]:
        """Factor levels no training distribution contains."""
        return {k: tuple(v) for k, v in self.raw["held_out"].items()}

    @property
    def distributions(self) -> dict[str, dict[str, dict[str, float]]]:
        """Named sampling distributions: factor -> level -> weight."""
        return self.raw["distributions"]

    @property
    def captions(self) -> dict[str, Any]:
        """Caption words."""
        return self.raw["captions"]

    def signature_pattern(self, cls: str) -> str:
        """The pattern training data ties to class ``cls``."""
        return self.patterns[self.classes.index(cls)]

    def typical_colours(self, cls: str) -> tuple[str, ...]:
        """The usual colours of a training class (OOD shapes have none: every colour is usual)."""
        return tuple(self.raw["typical_colours"].get(cls, ())) or self.allowed_colours(cls)

    def held_out_colours(self, cls: str) -> tuple[str, ...]:
        """Colours never paired with ``cls`` in training."""
        return tuple(self.raw["held_out_colours"].get(cls, ()))

    def allowed_colours(self, cls: str) -> tuple[str, ...]:
        """Every colour except the held-out combinations of ``cls``."""
        banned = set(self.held_out_colours(cls))
        return tuple(c for c in self.colours if c not in banned)


@cache
def world() -> World:
    """The FactorWorld definition shipped with zeroshift (parsed once per process)."""
    text = (resources.files("zeroshift.data.factorworld") / "_info" / "world.yaml").read_text(encoding="utf-8")
    return World(yaml.safe_load(text), hashlib.sha256(text.encode()).hexdigest()[:16])
