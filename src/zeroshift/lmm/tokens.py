"""Token ids of candidate continuations after a shared prefix.

A continuation's ids are those of ``prefix + continuation`` after the ids of ``prefix`` (lm-evaluation-harness's
rule), so a tokenizer that merges across the boundary still scores the text the model would read. Where the
prefix ids are not a prefix of the joint ids (a merge across the boundary), the continuation is tokenised on its
own; :class:`Continuations` counts those cases so the protocol records them.

Example:
    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> from transformers import PreTrainedTokenizerFast
    >>> raw = Tokenizer(models.WordLevel({"<unk>": 0, "is": 1, "it": 2, "a": 3, "cat": 4}, unk_token="<unk>"))
    >>> raw.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>")
    >>> continuation_ids(tok, "is it", [" a cat", " cat"]).ids
    [[3, 4], [4]]

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zeroshift.errors import UsageError


@dataclass
class Continuations:
    """Token ids of each continuation, and how many were tokenised apart from the prefix (boundary merges)."""

    ids: list[list[int]]
    boundary_fallbacks: int = 0


def continuation_ids(tokenizer: Any, prefix: str, continuations: Sequence[str]) -> Continuations:
    """The ids of each continuation after ``prefix`` (no special tokens: the prefix's own are already there)."""
    head = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    joint = tokenizer([prefix + c for c in continuations], add_special_tokens=False)["input_ids"]
    out: list[list[int]] = []
    fallbacks = 0
    for text, ids in zip(continuations, joint, strict=True):
        if ids[: len(head)] == head:
            tail = list(ids[len(head) :])
        else:
            fallbacks += 1
            tail = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if not tail:
            raise UsageError(f"candidate {text.strip()!r} has no tokens after the prompt; candidates need text")
        out.append(tail)
    return Continuations(out, fallbacks)
