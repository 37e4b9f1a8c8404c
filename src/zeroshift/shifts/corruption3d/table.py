"""The parameter table of the 3D corruptions (``_info/corruption3d.yaml``), read once.

Example:
    >>> table()["fog_3d"].params(3)
    {'alpha': 12.0}
    >>> table()["fog_3d"].params(0)  # severity 0: the identity
    {'alpha': 0.0}
    >>> table()["near_focus"].resembles
    'defocus_blur'

"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class CorruptionDef:
    """One corruption of the table (see the YAML file's header for the fields)."""

    name: str
    op: str
    depth: bool
    resembles: str
    fixed: dict[str, Any]
    severity: dict[str, list[Any]]
    identity: dict[str, Any]
    source: str
    adapted: str = ""

    def params(self, severity: int) -> dict[str, Any]:
        """The parameters at ``severity`` 1..5, or the identity parameters at 0."""
        if severity == 0:
            return {**self.fixed, **self.identity}
        return {**self.fixed, **{k: v[severity - 1] for k, v in self.severity.items()}}

    @property
    def record(self) -> dict[str, Any]:
        """What a run records about the corruption."""
        out = {"op": self.op, "needs_depth": self.depth, "resembles": self.resembles, "source": self.source}
        return {**out, "adapted": self.adapted} if self.adapted else out


@dataclass(frozen=True)
class Table:
    """The parsed file: version, the pixel size parameters are given at, and the corruptions by name."""

    version: int
    reference_size: int
    digest: str
    corruptions: dict[str, CorruptionDef]

    def __getitem__(self, name: str) -> CorruptionDef:
        return self.corruptions[name]

    def names(self) -> tuple[str, ...]:
        """Corruption names in file order (ImageNet-3DCC's 12)."""
        return tuple(self.corruptions)


@cache
def table() -> Table:
    """The table shipped with zeroshift; checks that every entry has 5 severities and complete identity values."""
    text = (resources.files("zeroshift.shifts.corruption3d") / "_info" / "corruption3d.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    corruptions = {}
    for name, entry in raw["corruptions"].items():
        definition = CorruptionDef(name=name, **entry)
        for key, values in definition.severity.items():
            if len(values) != 5:
                raise ValueError(f"corruption3d.yaml: {name}.{key} needs 5 values, has {len(values)}")
            if key not in definition.identity:
                raise ValueError(f"corruption3d.yaml: {name} has no identity value for {key!r}")
        corruptions[name] = definition
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Table(int(raw["version"]), int(raw["reference_size"]), digest, corruptions)


def pixel_scale(shape: tuple[int, ...]) -> float:
    """How many pixels of an image of this shape one pixel at the table's reference size is.

    Example:
        >>> pixel_scale((64, 64, 3)) == 64 / 224
        True

    """
    return min(shape[0], shape[1]) / table().reference_size
