"""``corruption3d(name=..., severity=1..5, depth=...)``: the ImageNet-3DCC corruptions as an on-the-fly pixel shift.

Any benchmark runs under any of the 12 corruptions (``--shift "corruption3d(name='fog_3d', severity=3,
depth='dpt:Intel/dpt-hybrid-midas')"``), and the ``synthetic_shifts_3d`` suite runs them all. Like
``corruption(...)`` the shift sees the pixels after the model's geometry, runs in loader workers, and draws from a
generator seeded per image from (run seed, canonical spec, sample id), so a rerun is bit-equal. Its output is
rounded to 8 bits (3DCC saved its images as PNG).

``depth`` names the depth source (:mod:`zeroshift.depth`): ``factorworld`` (exact), ``folder(path=...)`` or a
depth model (``dpt:...``, ``depth_anything:...``); the six depth-free corruptions ignore it (their canonical spec
has ``depth=None``). The shift declares the ``depth`` artefact of its source in :meth:`Corruption3D.needs`; the
engine produces the maps of the clean images (cached, shared by every model: :mod:`zeroshift.artefacts.depth`)
before the shifted pixels are loaded and hands each image's map, aligned with the pixels, in
``ShiftContext.params["depth"]``; a map of another size is aligned by :func:`zeroshift.depth.convert.align_depth`.
The depth source is part of the canonical spec, so features under two depth sources never share a cache entry.

Example:
    >>> import numpy as np, torch
    >>> from zeroshift.shifts.base import ShiftContext
    >>> shift = Corruption3D(name="fog_3d", severity=2, depth="factorworld")
    >>> shift.canonical
    "corruption3d(depth='factorworld', name='fog_3d', severity=2)"
    >>> depth = np.linspace(0.01, 0.5, 32 * 32, dtype=np.float32).reshape(32, 32)
    >>> pixels = torch.zeros(3, 32, 32)
    >>> pixels[:, :, 16:] = 1.0  # black and white halves: the fog is their mean grey
    >>> out = shift.apply(pixels, ShiftContext("a.png", seed=1, params={"depth": depth}))
    >>> out.shape, bool(out[:, -1].std() < out[:, 0].std())  # the far (last) row has less contrast
    (torch.Size([3, 32, 32]), True)

"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from zeroshift.depth import parse_depth_source
from zeroshift.depth.base import DepthSource
from zeroshift.depth.convert import align_depth
from zeroshift.errors import SpecError, UsageError
from zeroshift.registry import suggest
from zeroshift.shifts.base import Shift, ShiftContext
from zeroshift.shifts.corruption3d import NAMES, codec, corrupt3d, definition
from zeroshift.shifts.corruption3d.table import table
from zeroshift.shifts.pixels import from_uint8_hwc, to_uint8_hwc


def check_corruption3d(name: Any, severity: Any, where: str = "corruption3d") -> None:
    """Raise SpecError unless ``name`` is one of the 12 corruptions and ``severity`` an integer in 1-5.

    Example:
        >>> check_corruption3d("fog3d", 3)
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: corruption3d: unknown 3D corruption 'fog3d'; did you mean 'fog_3d'?

    """
    if name is None:
        raise SpecError(f"{where}: give name=..., one of: {', '.join(NAMES)}")
    if name not in NAMES:
        hint = suggest(str(name), list(NAMES)) or f" (known: {', '.join(NAMES)})"
        raise SpecError(f"{where}: unknown 3D corruption {name!r}{hint}")
    if severity is None:
        raise SpecError(f"{where}: give severity=1..5")
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise SpecError(f"{where}: severity must be an integer from 1 to 5, got {severity!r}")


def check_codecs(name: str) -> None:
    """Raise UsageError when a codec corruption's encoders or decoder are missing (checked at spec time)."""
    params = definition(name).params(1)
    for key, mode in (("encoder", "w"), ("reference_encoder", "w"), ("decoder", "r")):
        if key in params:
            codec.require_codec(params[key], mode, corruption=f"corruption3d: {name}")


class Corruption3D(Shift):
    """One ImageNet-3DCC corruption at one severity, with its depth source (see the module docstring).

    Example:
        >>> Corruption3D(name="iso_noise", severity=1).protocol["needs_depth"]
        False

    """

    name = "corruption3d"
    description = "3D common corruption (ImageNet-3DCC: 12 kinds x severity 1-5, Kar et al. 2022), depth per image"
    kind = "pixel"
    #: a kind of its own: the corruption summary, mCE and effective robustness never mix 3D into 2D
    condition_kind = "corruption3d"
    defaults: ClassVar[dict[str, Any]] = {"name": None, "severity": None, "depth": None}

    def validate(self) -> None:  # noqa: D102
        name = self.params["name"]
        check_corruption3d(name, self.params["severity"])
        depth = self.params["depth"]
        if definition(name).depth:
            if depth is None:
                raise SpecError(
                    f"corruption3d: {name} needs depth=...: 'factorworld', \"folder(path='...')\" or a depth model "
                    "such as 'dpt:Intel/dpt-hybrid-midas'"
                )
            # the canonical form (absolute paths, defaults filled in) keys the feature cache
            self.params["depth"] = parse_depth_source(depth).canonical
        else:
            # a depth-free corruption ignores the source: dropped, so one suite can give depth to all twelve and the
            # cache never holds the same pixels under two specs
            self.params["depth"] = None
        check_codecs(name)

    def label(self) -> str:  # noqa: D102
        return f"{self.params['name'].replace('_', ' ')} (3D), severity {self.params['severity']}"

    def condition(self) -> dict[str, Any]:
        """The record's fields: ``corruption3d`` (name, severity, depth source); ``corruption`` stays None.

        Example:
            >>> Corruption3D(name="fog_3d", severity=3, depth="factorworld").condition()["corruption3d"]
            {'name': 'fog_3d', 'severity': 3, 'depth': 'factorworld'}

        """
        p = self.params
        fields = {"name": p["name"], "severity": p["severity"], "depth": p["depth"]}
        return {**super().condition(), "corruption3d": fields}

    @property
    def depth_source(self) -> DepthSource | None:
        """The depth source the spec names (None for the depth-free corruptions); nothing is loaded."""
        return parse_depth_source(self.params["depth"]) if self.params["depth"] is not None else None

    def needs(self) -> dict[str, dict[str, Any]]:
        """The depth maps of the clean images (the ``depth`` artefact of the source), for the depth corruptions.

        Example:
            >>> Corruption3D(name="fog_3d", severity=1, depth="factorworld").needs()
            {'depth': {'source': 'factorworld'}}
            >>> Corruption3D(name="iso_noise", severity=1).needs()
            {}

        """
        if self.params["depth"] is None:
            return {}
        return {"depth": {"source": self.params["depth"]}}

    def _depth(self, ctx: ShiftContext) -> np.ndarray:
        depth = ctx.params.get("depth")
        if depth is None:
            raise UsageError(
                f"{self.canonical}: no depth map for {ctx.sample_id} (the engine hands the depth of "
                f"{self.params['depth']!r} in ShiftContext.params['depth'])"
            )
        return np.asarray(depth)

    def apply(self, pixels: torch.Tensor, ctx: ShiftContext) -> torch.Tensor:  # noqa: D102
        name, severity = self.params["name"], self.params["severity"]
        image = to_uint8_hwc(pixels).astype(np.float32) / np.float32(255.0)
        depth = None
        if definition(name).depth:
            depth = align_depth(self._depth(ctx), image.shape[:2])
        out = corrupt3d(image, depth, name, severity, np.random.default_rng(ctx.seed))
        return from_uint8_hwc(np.rint(out * np.float32(255.0)).astype(np.uint8)).to(pixels.dtype)

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        name = self.params["name"]
        entry = definition(name)
        out = {
            **super().protocol,
            **entry.record,
            "needs_depth": entry.depth,
            "params": entry.params(self.params["severity"]),
            "table": f"corruption3d.yaml v{table().version} ({table().digest})",
            "reference_size": f"pixel quantities given at {table().reference_size} px, scaled with the image",
            "input": "uint8 RGB after the model's geometry (resize/crop), before normalisation, as floats in [0, 1]",
            "output": "rounded to uint8 (3DCC saved PNGs); never JPEG-encoded",
            "rng": "numpy.random.Generator(PCG64(per-image seed))",
        }
        source = self.depth_source
        if source is not None:
            out["depth"] = {
                **source.protocol,
                "alignment": "maps not at the input size: resize (same aspect) or resize shorter side + centre crop",
            }
        return out


__all__ = ["Corruption3D", "check_codecs", "check_corruption3d"]
