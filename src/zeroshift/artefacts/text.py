"""Text kinds: zero-shot text heads (one row per class name and prompt set).

A head row is CLIP's prompt ensemble: the normalised mean of the normalised embeddings of the class name in every
template. Rows are keyed by class name, so the ImageNet family shares one head: ImageNet-R's 200 rows are reused by
a later 1000-class ImageNet run, which computes only the other 800.

Example:
    >>> import torch
    >>> class_embedding(torch.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()  # mean of unit rows, renormalised
    [0.3162277936935425, 0.9486833214759827]

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zeroshift.artefacts.base import artefact_kind
from zeroshift.core.lazy import torch
from zeroshift.errors import UsageError
from zeroshift.params import Param


def class_embedding(text_embeddings: Any) -> Any:
    """Normalise each template embedding, average, and normalise the mean (CLIP's prompt ensembling)."""
    mean = torch.nn.functional.normalize(text_embeddings.float(), dim=-1).mean(dim=0)
    return mean / mean.norm()


def _head_fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    prompts = params.get("prompts") or scope.prompts
    return {"prompts": prompts.digest, "what": "text head"}


def _head_rows(encoder: Any, names: Sequence[str], params: Mapping[str, Any], scope: Any) -> Any:
    """Rows for ``names``: every template of each, encoded in one batch of texts, ensembled per class."""
    prompts = params.get("prompts") or scope.prompts
    texts = [prompts.texts(name) for name in names]
    flat = [t for group in texts for t in group]
    with torch.inference_mode():
        emb = encoder.encode_text(flat).float().cpu()
    rows, start = [], 0
    for group in texts:
        rows.append(class_embedding(emb[start : start + len(group)]))
        start += len(group)
    return torch.stack(rows)


def _text_batches(names: list[str], scope: Any, params: Mapping[str, Any], budget: int = 256) -> Any:
    """Classes grouped until their templates fill ``budget`` texts (one text-encoder batch each)."""
    prompts = params.get("prompts") or scope.prompts
    pending: list[str] = []
    size = 0
    for name in names:
        pending.append(name)
        size += len(prompts.texts(name))
        if size >= budget:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending


def _needs_text_encoder(scope: Any, params: Mapping[str, Any]) -> None:
    if not scope.facts.has_text_head:
        raise UsageError(f"{scope.facts.spec} is a fixed-head classifier and has no text encoder")


artefact_kind(
    "heads",
    description="text head",
    keyed_by="text",
    fingerprint=_head_fingerprint,
    compute=_head_rows,
    params={"prompts": Param(None, "the prompt set (default: the run's)")},
    check=_needs_text_encoder,
    batches=_text_batches,
)
