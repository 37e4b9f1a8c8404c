"""Caption embeddings: one row per caption text and model, keyed by the text itself (content-addressed).

A caption is encoded once per model, whatever the image shift, the benchmark or the metric group that asks for it:
the bank's fingerprint names the model and nothing else, and its rows are keyed by the caption's exact text. A text
shift (typos, dropped words) makes other texts, hence new rows; the clean captions stay cached. Rows are the text
encoder's embeddings, L2-normalised, in float32.

Example:
    >>> kinds.get("captions").keyed_by, kinds.get("captions").description
    ('text', 'caption embeddings')

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.artefacts.text import _needs_text_encoder
from zeroshift.core.lazy import torch

#: captions encoded in one text-encoder batch
CAPTION_BATCH = 256


def _caption_fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    # the model is added by the producer; captions depend on nothing else (no prompts, no shift, no benchmark)
    return {"what": "caption embeddings"}


def _caption_rows(encoder: Any, texts: Sequence[str], params: Mapping[str, Any], scope: Any) -> Any:
    with torch.inference_mode():
        emb = encoder.encode_text(list(texts)).float().cpu()
    return torch.nn.functional.normalize(emb, dim=-1)


def _caption_batches(texts: list[str], scope: Any, params: Mapping[str, Any]) -> Any:
    for start in range(0, len(texts), CAPTION_BATCH):
        yield texts[start : start + CAPTION_BATCH]


def _protocol(scope: Any, params: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    return {"rows": "text encoder embedding of each caption's exact text, L2-normalised, float32", "bank": fingerprint}


artefact_kind(
    "captions",
    description="caption embeddings",
    keyed_by="text",
    fingerprint=_caption_fingerprint,
    compute=_caption_rows,
    check=_needs_text_encoder,
    batches=_caption_batches,
    protocol=_protocol,
)

__all__ = ["CAPTION_BATCH", "kinds"]
