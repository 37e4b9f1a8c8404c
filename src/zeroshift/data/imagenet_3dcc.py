"""ImageNet-3DCC (Kar et al. 2022) as released: one image tree per 3D corruption and severity.

The release (``tools/download_imagenet_3dcc.sh`` of EPFL-VILAB/3DCommonCorruptions: one tar per corruption from
datasets.epfl.ch/3dcc/imagenet_3dcc, unpacked into ``ImageNet-3DCC/``; RobustBench's ``load_imagenet3dcc`` reads
the same tree) holds ``<corruption>/<severity>/<wnid>/*`` for the 12 corruptions at severities 1-5 over the 50,000
ImageNet validation images (the 2D analogue is ``imagenet_c``). Labels come from the WordNet-id folders and are
scored over ImageNet's 1000 classes, so the text head of ``imagenet`` serves it; ``imagenet`` is the clean run.

Example:
    >>> bench = ImageNet3DCC("/data", corruption="fog_3d", severity=3)
    >>> bench.canonical, bench.candidate_roots()[0]
    ("imagenet_3dcc(corruption='fog_3d', severity=3)", 'ImageNet-3DCC/fog_3d/3')
    >>> ImageNet3DCC("/data", corruption="fog3d")
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: imagenet_3dcc: unknown corruption 'fog3d'; did you mean 'fog_3d'?

"""

from __future__ import annotations

from typing import Any

from zeroshift.data.imagenet import ImageNetFolder
from zeroshift.errors import SpecError
from zeroshift.registry import suggest

#: the 12 corruptions of the release, in the download script's order
IMAGENET_3DCC_CORRUPTIONS = (
    "near_focus", "far_focus", "fog_3d", "flash", "color_quant", "low_light", "xy_motion_blur", "z_motion_blur",
    "iso_noise", "bit_error", "h265_abr", "h265_crf",
)  # fmt: skip


class ImageNet3DCC(ImageNetFolder):
    """ImageNet-3DCC released images: one corruption x severity per spec (see the module docstring)."""

    name = "imagenet_3dcc"
    display_name = "ImageNet-3DCC"
    #: a kind of its own (not ``natural_shift``, not ``corruption``): effective robustness, the ImageNet-C
    #: corruption summary and mCE never mix the 3D corruptions in
    kind = "corruption3d"
    description = "ImageNet-3DCC released images (3D corruptions, Kar et al. 2022; one corruption x severity per spec)"
    defaults = {"corruption": "near_focus", "severity": 1}
    label_spaces = ("full",)
    layout = "ImageNet-3DCC/<corruption>/<severity>/<wnid>/* (12 corruptions x severities 1-5, 1000 WordNet-id folders)"
    published_at = "https://datasets.epfl.ch/3dcc/imagenet_3dcc/<corruption>.tar.gz (tools/download_imagenet_3dcc.sh)"

    def validate_params(self) -> None:  # noqa: D102
        c, s = self.params["corruption"], self.params["severity"]
        if c not in IMAGENET_3DCC_CORRUPTIONS:
            hint = (
                suggest(str(c), list(IMAGENET_3DCC_CORRUPTIONS)) or f" (known: {', '.join(IMAGENET_3DCC_CORRUPTIONS)})"
            )
            raise SpecError(f"imagenet_3dcc: unknown corruption {c!r}{hint}")
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5:
            raise SpecError(f"imagenet_3dcc: severity must be an integer from 1 to 5, got {s!r}")

    def candidate_roots(self) -> tuple[str, ...]:  # noqa: D102
        c, s = self.params["corruption"], self.params["severity"]
        return tuple(f"{top}/{c}/{s}" for top in ("ImageNet-3DCC", "imagenet-3dcc", "imagenet_3dcc"))

    def condition(self) -> dict[str, Any]:
        """The record's fields: the clean counterpart (``base``) and ``corruption3d`` (name, severity, depth).

        Example:
            >>> c = ImageNet3DCC("/data", corruption="fog_3d", severity=3).condition()
            >>> c["kind"], c["base"], c["corruption3d"]["depth"], c["corruption"]
            ('corruption3d', "imagenet(split='val')", 'released (DPT/MiDaS inverse depth, 3DCC)', None)

        """
        corruption = {"name": self.params["corruption"], "severity": self.params["severity"]}
        depth = "released (DPT/MiDaS inverse depth, 3DCC)"
        return {**super().condition(), "base": self.in_distribution_spec(), "corruption": None,
                "corruption3d": {**corruption, "depth": depth}}  # fmt: skip
