"""The zoo's word-level tokenizer over the FactorWorld caption vocabulary.

Ids: 0 is padding, 1 is an unknown word, then the vocabulary in order. A text is lower-cased and split into
words (letters only), so any prompt template works: words a model never saw map to the unknown id, which
training also uses (word dropout) so that such words are ignored rather than harmful.

Example:
    >>> tok = WordTokenizer(["a", "of", "photo", "star"])
    >>> tok.encode(["a photo of a star.", "a bad photo"]).tolist()
    [[2, 4, 3, 2, 5], [2, 1, 4, 0, 0]]

"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zeroshift.data.factorworld.captions import tokenize

PAD, UNK = 0, 1


class WordTokenizer:
    """Maps texts to padded id tensors (see the module docstring)."""

    def __init__(self, vocab: Sequence[str], max_len: int = 32) -> None:
        self.vocab = list(vocab)
        self.max_len = max_len
        self.index = {w: i + 2 for i, w in enumerate(self.vocab)}

    def ids(self, text: str) -> list[int]:
        """The ids of one text (truncated to ``max_len``; at least one id, so no row is all padding)."""
        ids = [self.index.get(w, UNK) for w in tokenize(text)][: self.max_len]
        return ids or [UNK]

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """A ``(len(texts), L)`` long tensor of ids, padded with 0 to the longest text."""
        rows = [self.ids(t) for t in texts]
        out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r)
        return out
