"""The ``depth`` image kind: one 3DCC depth map per image, from a depth source, shared by every model.

A shift that reads depth (``corruption3d``) declares ``{"depth": {"source": ...}}`` in ``Shift.needs``; the engine
produces the maps of the **clean** images before it loads the shifted pixels and hands each map to the shift as
``ShiftContext.params["depth"]``. The rows do not depend on the evaluated model (``per_model=False``): the bank's
fingerprint is the depth source's identity (:meth:`zeroshift.depth.base.DepthSource.identity`: FactorWorld's
generator and depth definition, a folder's path and conversion, a depth model's weights), for a folder the size and
mtime of every map file it reads (:meth:`zeroshift.depth.base.DepthSource.maps_key`), the size the maps are
aligned to (the model's input geometry, never its weights) and, per row, the image's content key. So the maps of a
dataset are computed once per source and geometry and every model of that geometry reads the same rows.

A depth model runs on the run's device, on the clean pixels after the geometry; FactorWorld and folder maps are
looked up by sample and aligned to the pixels (:func:`zeroshift.depth.convert.align_depth`).

Example:
    >>> kind = kinds.get("depth")
    >>> kind.keyed_by, kind.per_model, sorted(kind.params)
    ('image', False, ['source'])

"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.errors import SpecError
from zeroshift.params import Param


def _check_source(value: Any) -> str:
    from zeroshift.depth import parse_depth_source

    if value is None:
        raise SpecError("artefact depth: give source=... ('factorworld', \"folder(path='...')\" or 'dpt:...')")
    return parse_depth_source(value).canonical


@cache
def depth_source(canonical: str) -> Any:
    """The depth source a canonical string names, one instance per process (a depth model loads once).

    Example:
        >>> depth_source("factorworld") is depth_source("factorworld")
        True

    """
    from zeroshift.depth import parse_depth_source

    return parse_depth_source(canonical)


def geometry(scope: Any) -> dict[str, Any]:
    """What of the model the maps depend on: its input geometry (size, resize, crop), not its weights.

    Example:
        >>> class Facts:
        ...     preprocess = {"size": 64, "mean": [0.5] * 3, "std": [0.5] * 3}
        >>> class Scope:
        ...     facts = Facts()
        >>> geometry(Scope())
        {'size': 64}

    """
    return {k: v for k, v in scope.facts.preprocess.items() if k not in ("mean", "std")}


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    source = depth_source(params["source"])
    out = {"what": "depth (3DCC units)", "source": source.identity(), "geometry": geometry(scope)}
    maps = source.maps_key(scope.dataset)
    return out if maps is None else {**out, "maps": maps}


def _check(scope: Any, params: Mapping[str, Any]) -> None:
    depth_source(params["source"]).check(scope.dataset)


def _compute(batch: Any, params: Mapping[str, Any]) -> Any:
    import torch

    from zeroshift.depth.convert import align_depth

    source = depth_source(params["source"])
    pixels = batch.pixels
    if source.needs_pixels:
        source.load().module.to(pixels.device)  # the run's device
    maps = source.rows(batch.scope.dataset, batch.indices, pixels if source.needs_pixels else None)
    size = tuple(pixels.shape[-2:])
    return torch.from_numpy(np.stack([align_depth(m, size) for m in maps]).astype(np.float32))


def _protocol(scope: Any, params: Mapping[str, Any], fp: str) -> dict[str, Any]:
    source = depth_source(params["source"])
    return {
        **source.protocol,
        "of": "the clean images, after the model's geometry",
        "geometry": geometry(scope),
        "alignment": "maps not at the input size: resize (same aspect) or resize shorter side + centre crop",
        "fingerprint": fp,
    }


artefact_kind(
    "depth",
    description="depth map per image (3DCC units: larger = farther, far limit 0.5)",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    params={"source": Param(None, "the depth source (factorworld, folder(path=...), dpt:...)", check=_check_source)},
    check=_check,
    protocol=_protocol,
    per_model=False,
)

__all__ = ["depth_source", "geometry", "kinds"]
