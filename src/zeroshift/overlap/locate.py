"""Corpora named on the command line, and the corpus an index was built from, opened again from its manifest.

A location is a path in one of the layouts of :mod:`zeroshift.overlap.corpus`, or ``zoo-train:NAME`` for the
training images of zoo model ``NAME`` (:mod:`zeroshift.overlap.zoo_corpus`; ``sample``/``seed`` draw a subset).

Example:
    >>> corpus = locate_corpus("zoo-train:clip-cnn-narrow", sample=3)
    >>> corpus.kind, len(corpus)
    ('factorworld', 3)
    >>> reopen_corpus(corpus.describe(), corpus.listing_digest()).keys() == corpus.keys()
    True

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zeroshift.errors import UsageError
from zeroshift.overlap.corpus import Corpus, EmbeddingCorpus, FolderCorpus, WebDatasetCorpus, open_corpus

#: the prefix of a zoo model's training set as a corpus location
ZOO_PREFIX = "zoo-train:"


def locate_corpus(
    location: str,
    kind: str = "auto",
    model: str | None = None,
    key_column: str | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> Corpus:
    """Open the corpus a location names (see the module docstring); refuses an empty one."""
    if location.startswith(ZOO_PREFIX):
        from zeroshift.overlap.zoo_corpus import zoo_training_corpus

        corpus: Corpus = zoo_training_corpus(location[len(ZOO_PREFIX) :], sample, seed)
        corpus.check_not_empty()
        return corpus
    if sample is not None:
        raise UsageError(f"--sample applies to {ZOO_PREFIX}NAME corpora only")
    return open_corpus(location, kind, model, key_column)


def _zoo(description: dict[str, Any]) -> Corpus:
    from zeroshift.overlap.zoo_corpus import zoo_training_corpus

    name = str(description["root"]).removeprefix("zoo:")
    return zoo_training_corpus(name, description.get("sample"), description.get("sample_seed", 0))


#: how each corpus kind is opened again from its manifest description
REOPEN: dict[str, Callable[[dict[str, Any]], Corpus]] = {
    "folder": lambda d: FolderCorpus(d["root"]),
    "webdataset": lambda d: WebDatasetCorpus(d["shards"]),
    "embeddings": lambda d: EmbeddingCorpus(d["root"], d["declared_model"], d["key_column"]),
    "factorworld": _zoo,
}


def reopen_corpus(description: dict[str, Any], listing_digest: str | None = None) -> Corpus:
    """The corpus an index manifest describes; with ``listing_digest``, refuse a corpus that changed since."""
    kind = description.get("kind")
    if kind not in REOPEN:
        raise UsageError(f"cannot reopen a corpus of kind {kind!r} (it was given in memory)")
    corpus = REOPEN[str(kind)](description)
    if listing_digest is not None and corpus.listing_digest() != listing_digest:
        raise UsageError(f"the corpus at {description.get('root')} changed since its index was built")
    return corpus
