r"""Cache keys of LMM answers and scores: one bank of per-image rows per (model, shift, protocol, question,
candidates, decoding), rows keyed by each image's content key, like image features.

A bank's key holds everything that changes what the model computes for an image:

* ``model``: the model fingerprint (weights digest and dtype, from :meth:`LMMModel.identity`);
* ``shift``: the canonical shift spec (None: clean);
* ``protocol``: ``likelihood``, ``choice`` or ``generate``;
* ``prompt``: the question (and reply template); the chat template that renders it is one of the model's files,
  so a changed chat template changes the model fingerprint (local folders and the zoo: their files' digest);
* ``candidates``: the candidate rule (``label_space`` with a digest of the ordered names, or
  ``clip_topk(k, model)`` with the CLIP's fingerprint, whose per-image choice is stored in the row);
* ``decoding``: ``max_new_tokens`` and greedy (``choice``, ``generate``); the choice order and its seed.

What a row stores: ``likelihood`` the summed log-probability and token count of each candidate and the
candidates' label indices (so ``mean`` and ``sum`` normalisation are both read from one row); ``choice`` the
generated token ids and the two options' label indices; ``generate`` the generated token ids. Matching answers
to classes (synonyms, nested names), normalisation, the comparison with the CLIP and every metric are computed
from rows, so none of them decodes again.

Example:
    >>> key = bank_key("3f2a", "likelihood", prompt="USER: <image>\\nWhat? ASSISTANT:", candidates=names_key(["a"]))
    >>> sorted(key)
    ['candidates', 'decoding', 'kind', 'model', 'prompt', 'protocol', 'shift']

"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

KIND = "lmm_rows"


def names_key(names: Sequence[str]) -> str:
    """``label_space:<digest>`` of an ordered list of candidate names.

    Example:
        >>> names_key(["cat", "dog"]) != names_key(["dog", "cat"])
        True

    """
    return "label_space:" + hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:16]


def bank_key(
    model: str,
    protocol: str,
    *,
    prompt: str,
    candidates: str | None = None,
    shift: str | None = None,
    decoding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The identity of one bank of per-image LMM rows (feed it to :func:`zeroshift.specs.fingerprint`)."""
    return {
        "kind": KIND,
        "model": model,
        "protocol": protocol,
        "prompt": prompt,
        "candidates": candidates,
        "shift": shift,
        "decoding": dict(sorted((decoding or {}).items())),
    }
