"""Log-likelihoods of candidate answers after an image+question prefix, with the prefix encoded once.

:func:`score_with_prefix_cache` runs the prefix (image tokens and question) of a group of images once with
``use_cache=True``; the log-probability of each candidate's first token comes from the prefix's last logits,
and the rest of all candidates is scored in batches of rows (image, candidate) over the prefix's key-value
cache, gathered per row. :func:`score_from_scratch` runs the whole sequence of every candidate (vision tower
included): the reference the cached path must agree with, and the baseline of ``benchmarks/lmm_scoring.py``.

Both return, per image, the summed log-probability of each candidate's tokens and their number, so that the
mean per token (length-normalised, the default) and the sum are two views of one cached result.

Example:
    >>> import numpy as np
    >>> s = CandidateScores(np.array([[-2.0, -3.0]]), np.array([[1, 3]]))
    >>> s.scores("mean").tolist(), s.scores("sum").tolist()
    ([[-2.0, -1.0]], [[-2.0, -3.0]])

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zeroshift.errors import UsageError

#: how a candidate's token log-probabilities become one score
NORMALISATIONS = {
    "mean": "mean log-probability per token of the continuation (length-normalised)",
    "sum": "summed log-probability of the continuation's tokens",
}
#: inputs that describe the text rather than the image (everything else is repeated per row from scratch)
TEXT_KEYS = ("input_ids", "attention_mask")


@dataclass
class CandidateScores:
    """Summed log-probabilities ``(n_images, n_candidates)`` and token counts of each candidate, and the protocol
    that produced them.
    """

    logprob_sum: np.ndarray
    n_tokens: np.ndarray
    protocol: dict[str, Any] = field(default_factory=dict)

    def scores(self, normalise: str = "mean") -> np.ndarray:
        """Scores under a normalisation of :data:`NORMALISATIONS`."""
        if normalise not in NORMALISATIONS:
            raise UsageError(f"unknown normalisation {normalise!r}; choose one of: {', '.join(NORMALISATIONS)}")
        return self.logprob_sum / self.n_tokens if normalise == "mean" else self.logprob_sum.copy()


def _pad(rows: Sequence[Sequence[int]], width: int, pad_id: int, device: torch.device) -> torch.Tensor:
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r[:width], dtype=torch.long)
    return out.to(device)


def _lengths_mask(rows: Sequence[Sequence[int]], width: int, device: torch.device) -> torch.Tensor:
    lengths = torch.tensor([min(len(r), width) for r in rows])
    return (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).long().to(device)


def _rows(continuations: Sequence[Sequence[Sequence[int]]]) -> list[tuple[int, int]]:
    return [(b, k) for b, cands in enumerate(continuations) for k in range(len(cands))]


def _empty(continuations: Sequence[Sequence[Sequence[int]]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    sums = [np.zeros(len(c), dtype=np.float64) for c in continuations]
    counts = [np.array([len(ids) for ids in c], dtype=np.int64) for c in continuations]
    return sums, counts


def _gather(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Summed log-softmax of ``targets`` under ``logits`` ``(R, L, V)``, where ``mask`` is 1."""
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (logp * mask).sum(dim=1)


@torch.no_grad()
def score_with_prefix_cache(
    module: Any,
    inputs: Mapping[str, torch.Tensor],
    continuations: Sequence[Sequence[Sequence[int]]],
    rows_per_batch: int = 64,
    pad_id: int = 0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Score every candidate of every image over the prefix's key-value cache.

    Args:
        module: a transformers image-text-to-text model (LLaVA family) in eval mode.
        inputs: the processor's output for a group of images whose prefixes have the same length.
        continuations: per image, the token ids of each candidate (from :mod:`zeroshift.lmm.tokens`).
        rows_per_batch: (image, candidate) rows run together over the repeated cache.
        pad_id: id written after short candidates (masked out).

    Returns:
        Per image, the summed log-probability of each candidate's tokens and their counts.

    """
    from transformers import DynamicCache

    device = inputs["input_ids"].device
    out = module(**inputs, use_cache=True, logits_to_keep=1)
    first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
    layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
    prefix_mask = inputs.get("attention_mask", torch.ones_like(inputs["input_ids"]))
    sums, counts = _empty(continuations)
    rows = _rows(continuations)
    for start in range(0, len(rows), rows_per_batch):
        chunk = rows[start : start + rows_per_batch]
        images = torch.tensor([b for b, _ in chunk], device=device)
        seqs = [continuations[b][k] for b, k in chunk]
        firsts = torch.tensor([s[0] for s in seqs], device=device)
        total = first[images, firsts]
        width = max(len(s) for s in seqs) - 1
        if width > 0:
            # the cache of each row's image: a new cache object per batch, so the prefix's tensors stay intact
            cache = DynamicCache([(k[images], v[images]) for k, v in layers], config=module.config)
            ids = _pad([s[:-1] for s in seqs], width, pad_id, device)
            targets = _pad([s[1:] for s in seqs], width, pad_id, device)
            mask = _lengths_mask([s[1:] for s in seqs], width, device)
            attention = torch.cat([prefix_mask[images], torch.ones_like(ids)], dim=1)
            logits = module(input_ids=ids, attention_mask=attention, past_key_values=cache, use_cache=True).logits
            total = total + _gather(logits, targets, mask)
        for (b, k), value in zip(chunk, total.double().cpu().numpy(), strict=True):
            sums[b][k] = value
    return sums, counts


@torch.no_grad()
def score_from_scratch(
    module: Any,
    inputs: Mapping[str, torch.Tensor],
    continuations: Sequence[Sequence[Sequence[int]]],
    rows_per_batch: int = 64,
    pad_id: int = 0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The same scores from full forwards of prefix + candidate (image encoded again for every row)."""
    device = inputs["input_ids"].device
    prefix_ids = inputs["input_ids"]
    prefix_mask = inputs.get("attention_mask", torch.ones_like(prefix_ids))
    image_inputs = {k: v for k, v in inputs.items() if k not in TEXT_KEYS}
    sums, counts = _empty(continuations)
    rows = _rows(continuations)
    for start in range(0, len(rows), rows_per_batch):
        chunk = rows[start : start + rows_per_batch]
        images = torch.tensor([b for b, _ in chunk], device=device)
        seqs = [continuations[b][k] for b, k in chunk]
        width = max(len(s) for s in seqs)
        cont = _pad(seqs, width, pad_id, device)
        mask = _lengths_mask(seqs, width, device)
        ids = torch.cat([prefix_ids[images], cont], dim=1)
        attention = torch.cat([prefix_mask[images], torch.ones_like(cont)], dim=1)
        extra = {k: v[images] if isinstance(v, torch.Tensor) else v for k, v in image_inputs.items()}
        # logits at positions length-1 .. length+width-2 predict the candidate's tokens
        logits = module(input_ids=ids, attention_mask=attention, logits_to_keep=width + 1, **extra).logits
        total = _gather(logits[:, :width], cont, mask)
        for (b, k), value in zip(chunk, total.double().cpu().numpy(), strict=True):
            sums[b][k] = value
    return sums, counts
