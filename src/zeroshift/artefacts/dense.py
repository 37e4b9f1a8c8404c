"""The ``dense`` image kind: a model's dense features (a ViT's patch tokens, a CNN's feature map) per image.

Beside ``local`` (GL-MCM's patch embeddings in the joint space, taken in the shared forward pass), ``dense`` holds
:meth:`~zeroshift.models.base.ZeroShotModel.encode_dense` maps ``(C, h, w)`` of one block or stage (``layer``, a
negative index), before any final norm or projection, not normalised, stored as float16. They are computed under
the encoder pass's autocast (``ImageBatch.autocast``: the run's precision, which the record states and the fingerprint
names). Correspondence needs the whole image, so the rows are taken on the **letterboxed** input of
:class:`~zeroshift.models.dense.DenseGeometry` (the kind declares its own ``geometry``; the engine produces it in a
pass of its own) rather than the model's classification crop. The fingerprint names the model, the pixels (shift,
seed), the precision, the layer and the geometry.

Example:
    >>> kind = kinds.get("dense")
    >>> kind.keyed_by, sorted(kind.params), kind.geometry is not None
    ('image', ['layer'], True)

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.errors import UsageError
from zeroshift.params import Param, negative_int

if TYPE_CHECKING:
    from zeroshift.models.dense import DenseGeometry

#: how rows are stored (part of the fingerprint and the record)
STORAGE = "float16"


# zeroshift.models.dense is imported where it is used: the read-only commands load this registry without torch
def _geometry(model: Any, params: Mapping[str, Any]) -> DenseGeometry:
    from zeroshift.models.dense import DenseGeometry

    return DenseGeometry(model.dense_input_size)


def _geometry_version() -> int:
    from zeroshift.models.dense import DENSE_GEOMETRY_VERSION

    return DENSE_GEOMETRY_VERSION


def _layer_record(dense: Mapping[str, Any], layer: int) -> dict[str, Any]:
    from zeroshift.models.dense import layer_record

    return layer_record(dense, layer)


def _letterbox_record(side: int) -> dict[str, Any]:
    from zeroshift.models.dense import DenseGeometry

    return DenseGeometry(side).record


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    dense = scope.facts.dense or {}
    return {
        **scope.pixel_fingerprint(),
        "precision": scope.precision,
        "what": f"dense features ({STORAGE})",
        "layer": int(params["layer"]),
        "geometry": {"kind": "letterbox", "version": _geometry_version(), "side": dense.get("input_side")},
    }


def _compute(batch: Any, params: Mapping[str, Any]) -> Any:
    import torch

    model = batch.model
    # the encoder pass's precision: under bf16/fp16 autocast on a GPU (or when asked), fp32 otherwise
    with torch.inference_mode(), batch.autocast():
        maps = model.encode_dense(model.preprocess.normalize(batch.pixels), layer=int(params["layer"]))
    return maps.float().to(torch.float16).cpu()


def _check(scope: Any, params: Mapping[str, Any]) -> None:
    why = unsupported(scope.facts, params["layer"])
    if why is not None:
        raise UsageError(f"{scope.facts.spec}: {why}")


def unsupported(facts: Any, layer: int = -1) -> str | None:
    """Why a model (its facts) cannot give dense features at ``layer``, or None when it can.

    Example:
        >>> from zeroshift.models.facts import ModelFacts
        >>> facts = ModelFacts("zoo:x", {}, "zero_shot", "zoo", None, 100.0, 0.0, {}, {},
        ...                    dense={"n_layers": 3, "layers_are": "stages"})
        >>> unsupported(facts), unsupported(facts, -4)
        (None, 'layer -4 does not exist: the model has 3 stages')

    """
    if facts.dense is None:
        return f"no dense features (patch tokens or a feature map) from the {facts.backend} backend for this model"
    n = int(facts.dense["n_layers"])
    if not -n <= int(layer) <= -1:
        return f"layer {layer} does not exist: the model has {n} {facts.dense['layers_are']}"
    return None


def _protocol(scope: Any, params: Mapping[str, Any], fp: str) -> dict[str, Any]:
    dense = scope.facts.dense
    return {
        **_layer_record(dense, int(params["layer"])),
        "geometry": _letterbox_record(int(dense["input_side"])),
        "storage": STORAGE,
        "precision": scope.precision,
        "autocast": "the encoder pass's: --precision (auto: bf16 autocast on GPU, fp32 on CPU)",
        "cache": "dense/" + fp,
    }


artefact_kind(
    "dense",
    description=f"dense features ({STORAGE})",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    params={"layer": Param(-1, "block or stage, a negative index (-1: the last)", check=negative_int)},
    check=_check,
    protocol=_protocol,
    geometry=_geometry,
)

__all__ = ["kinds", "unsupported"]
