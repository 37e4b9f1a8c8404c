"""The image kinds every run uses: global features (embeddings or fixed-head logits) and patch embeddings.

Both come from the same encoder forward pass (``reads``), so asking for patch embeddings never encodes an image
twice. Their fingerprints name the model, what the pixels went through (shift, seed and, for attacks, the head and
label space) and the precision.

Example:
    >>> kinds.get("features").description, kinds.get("local").description
    ('image features', 'patch embeddings (float16)')

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.core.outputs import LocalOutputs
from zeroshift.errors import UsageError


def _image_fingerprint(what: str) -> Any:
    def fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**scope.pixel_fingerprint(), "precision": scope.precision, "what": what}

    return fingerprint


def _features(batch: Any, params: Mapping[str, Any]) -> Any:
    return batch.outputs["image"].float().cpu()


def _local(batch: Any, params: Mapping[str, Any]) -> Any:
    import torch

    return batch.outputs["local"].to(torch.float16).cpu()


def _check_local(scope: Any, params: Mapping[str, Any]) -> None:
    facts = scope.facts
    if not (facts.has_text_head and facts.supports_local):
        raise UsageError(f"{facts.spec} exposes no patch embeddings (GL-MCM needs an open_clip ViT)")
    if scope.label_space.reduce == "mean_prob":
        raise UsageError(f"label space {scope.label_space.name!r} maps probabilities, not cosines: no local score")


def _local_view(rows: Any, scope: Any, params: Mapping[str, Any]) -> LocalOutputs:
    import torch

    head = scope.head()
    patches = rows.rows if len(rows) else torch.empty(0, 0, head.shape[1], dtype=torch.float16)
    return LocalOutputs(rows.sample_ids, patches, head, scope.label_space)


artefact_kind(
    "features",
    description="image features",
    keyed_by="image",
    fingerprint=_image_fingerprint("image features"),
    compute=_features,
    reads=frozenset({"image"}),
)

artefact_kind(
    "local",
    description="patch embeddings (float16)",
    keyed_by="image",
    fingerprint=_image_fingerprint("patch embeddings (float16)"),
    compute=_local,
    reads=frozenset({"local"}),
    check=_check_local,
    view=_local_view,
)

__all__ = ["kinds"]
