"""Zero-shot text heads: per class, the normalised mean of the normalised template embeddings.

Rows are cached per class name in a :class:`~zeroshift.engine.cache.VectorBank` keyed by the model fingerprint
and the prompt set's digest, so the ImageNet family shares one head: ImageNet-R's 200 rows are reused by a later
1000-class ImageNet run, which computes only the other 800.

Example:
    >>> import torch
    >>> class_embedding(torch.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()  # mean of unit rows, renormalised
    [0.3162277936935425, 0.9486833214759827]

"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from zeroshift.engine.cache import Cache
from zeroshift.models import ModelHandle
from zeroshift.prompts import PromptSet
from zeroshift.specs import fingerprint


def class_embedding(text_embeddings: torch.Tensor) -> torch.Tensor:
    """Normalise each template embedding, average, and normalise the mean (CLIP's prompt ensembling)."""
    mean = torch.nn.functional.normalize(text_embeddings.float(), dim=-1).mean(dim=0)
    return mean / mean.norm()


def head_fingerprint(model: ModelHandle, prompts: PromptSet) -> str:
    """Fingerprint of the head bank of a model and prompt set."""
    return fingerprint({"model": model.fingerprint, "prompts": prompts.digest, "what": "text head"})


def text_head(
    model: ModelHandle,
    prompts: PromptSet,
    names: Sequence[str],
    cache: Cache,
    device: str | torch.device = "cpu",
    batch_texts: int = 256,
    on_encode: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Return the ``(len(names), D)`` head for ``names``, encoding only the classes not cached yet.

    Args:
        model: the model handle (loaded only if some class is missing).
        prompts: the prompt set.
        names: class names as they go into the prompts.
        cache: the artefact cache.
        device: where to run the text encoder.
        batch_texts: texts per forward pass (several classes share a batch).
        on_encode: called with the number of classes encoded, after each batch.

    """
    bank = cache.bank("heads", head_fingerprint(model, prompts), {"model": str(model.spec), "prompts": prompts.name})
    missing = list(dict.fromkeys(bank.missing(list(names))))
    if missing:
        encoder = model.load()
        encoder.to(device)
        pending: list[str] = []
        pending_texts: list[list[str]] = []

        def flush() -> None:
            flat = [t for texts in pending_texts for t in texts]
            with torch.inference_mode():
                emb = encoder.encode_text(flat).float().cpu()
            rows, start = [], 0
            for texts in pending_texts:
                rows.append(class_embedding(emb[start : start + len(texts)]))
                start += len(texts)
            bank.put(pending, torch.stack(rows))
            if on_encode:
                on_encode(len(pending))
            pending.clear()
            pending_texts.clear()

        for name in missing:
            pending.append(name)
            pending_texts.append(prompts.texts(name))
            if sum(len(t) for t in pending_texts) >= batch_texts:
                flush()
        if pending:
            flush()
    return bank.get(list(names))
