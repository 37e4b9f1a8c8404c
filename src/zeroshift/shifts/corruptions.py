"""``corruption(name=..., severity=...)``: the ImageNet-C corruptions as an on-the-fly pixel shift.

Any benchmark runs under any of the 15 + 4 corruptions at severities 1-5
(``--shift "corruption(name='fog', severity=3)"``), and the ``synthetic_shifts`` suite runs them all. The
corruption sees the pixels after the model's geometry (resize, crop), as uint8 RGB, exactly as the reference
``imagecorruptions.corrupt`` does; its uint8 output (truncated, as the reference's) goes on to the model's
normalisation. Each image draws from its own generator seeded from (run seed, spec, sample id), so a rerun is
bit-equal whatever the batch size or worker count.

Protocol note: the released ImageNet-C corrupted 224 px centre crops (resize 256, crop 224) and stored them as
JPEG (quality 85); here the corruption acts on the model's own crop and is never JPEG-encoded, the "in-memory"
setting of Taori et al.'s testbed. Errors may differ by a few points from the released JPEGs
(hendrycks/robustness #14/#16); use the ``imagenet_c`` benchmark for the released files.

Example:
    >>> import torch
    >>> from zeroshift.shifts.base import ShiftContext
    >>> shift = Corruption(name="contrast", severity=5)
    >>> shift.canonical
    "corruption(name='contrast', severity=5)"
    >>> out = shift.apply(torch.full((3, 32, 32), 0.5), ShiftContext("a.jpg", seed=1))
    >>> out.shape, round(float(out.max()), 3)
    (torch.Size([3, 32, 32]), 0.498)

"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from zeroshift.errors import SpecError
from zeroshift.registry import suggest
from zeroshift.shifts.base import Shift, ShiftContext
from zeroshift.shifts.imagenet_c import COMMON, EXTRA, NAMES, corrupt
from zeroshift.shifts.pixels import from_uint8_hwc, to_uint8_hwc


def check_corruption(name: Any, severity: Any, where: str = "corruption") -> None:
    """Raise SpecError unless ``name`` is one of the 19 corruptions and ``severity`` an integer in 1-5.

    Example:
        >>> check_corruption("fgo", 3)
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: corruption: unknown corruption 'fgo'; did you mean 'fog'?

    """
    if name is None:
        raise SpecError(f"{where}: give name=..., one of: {', '.join(NAMES)}")
    if name not in NAMES:
        hint = suggest(str(name), list(NAMES)) or f" (known: {', '.join(NAMES)})"
        raise SpecError(f"{where}: unknown corruption {name!r}{hint}")
    if severity is None:
        raise SpecError(f"{where}: give severity=1..5")
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise SpecError(f"{where}: severity must be an integer from 1 to 5, got {severity!r}")


class Corruption(Shift):
    """One ImageNet-C corruption at one severity (see the module docstring).

    Example:
        >>> Corruption(name="snow", severity=2).protocol["set"]
        'common (counted in mCE)'

    """

    name = "corruption"
    description = "ImageNet-C corruption: 15 + 4 kinds x severity 1-5 (Hendrycks & Dietterich), seeded per image"
    kind = "pixel"
    condition_kind = "corruption"
    defaults: ClassVar[dict[str, Any]] = {"name": None, "severity": None}
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"name": tuple(NAMES), "severity": (1, 2, 3, 4, 5)}

    def validate(self) -> None:  # noqa: D102
        check_corruption(self.params["name"], self.params["severity"])

    def label(self) -> str:  # noqa: D102
        return f"{self.params['name'].replace('_', ' ')}, severity {self.params['severity']}"

    def condition(self) -> dict[str, Any]:  # noqa: D102
        corruption = {"name": self.params["name"], "severity": self.params["severity"]}
        return {**super().condition(), "corruption": corruption}

    def apply(self, pixels: torch.Tensor, ctx: ShiftContext) -> torch.Tensor:  # noqa: D102
        image = to_uint8_hwc(pixels)
        out = corrupt(image, self.params["name"], self.params["severity"], np.random.default_rng(ctx.seed))
        return from_uint8_hwc(out).to(pixels.dtype)

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        name = self.params["name"]
        return {
            **super().protocol,
            "reference": "imagecorruptions 1.1.2 (Hendrycks & Dietterich 2019 parameters), ported to numpy Generators",
            "set": "common (counted in mCE)" if name in COMMON else "extra (held out; not in mCE)",
            "input": "uint8 RGB after the model's geometry (resize/crop), before normalisation",
            "output": "uint8, truncated as imagecorruptions.corrupt does; not JPEG-encoded (in-memory setting)",
            "rng": "numpy.random.Generator(PCG64(per-image seed))",
        }


__all__ = ["COMMON", "EXTRA", "NAMES", "Corruption", "check_corruption"]
