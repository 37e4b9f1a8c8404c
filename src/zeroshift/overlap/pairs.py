"""Flagged pairs found again: an evaluation image and its nearest training image, from what a record stores.

The ``overlap`` group records a few flagged pairs in its protocol (``examples``: sample id, neighbour key, cosine;
:func:`zeroshift.overlap.group.examples`). :func:`locate_pair` opens the images again: the evaluation image from
the record's benchmark (FactorWorld renders it from its seeded parameters; folder benchmarks read it under the
recorded data root) and the training image from the corpus the index manifest describes (a zoo training set is
rendered again, a folder or webdataset corpus read by key). Either side may be gone (a corpus moved, an embedding
corpus without images, a data root on another machine): that side is None and a note says why; nothing raises.

Example:
    >>> from zeroshift.overlap.zoo_corpus import zoo_training_corpus
    >>> corpus = zoo_training_corpus("clip-cnn-narrow", 3, 0)
    >>> pair = locate_pair("factorworld(n=2)", None, "no-such-sample", corpus.describe(), corpus.keys()[0])
    >>> pair.evaluation is None, pair.training.size, pair.notes
    (True, (64, 64), ['evaluation image no-such-sample: not in factorworld(n=2)'])

"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image


@dataclass
class LocatedPair:
    """The two images of a flagged pair (None where one could not be opened) and why not.

    Example:
        >>> LocatedPair(None, None, ["training image k: gone"]).notes
        ['training image k: gone']

    """

    evaluation: Image.Image | None
    training: Image.Image | None
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=8)
def _dataset(benchmark: str, data_root: str | None) -> tuple[Any, dict[str, int]]:
    from zeroshift.data import make_benchmark

    dataset = make_benchmark(benchmark, data_root).dataset()
    return dataset, {sid: i for i, sid in enumerate(dataset.sample_ids)}


@functools.lru_cache(maxsize=8)
def _corpus(description: str) -> tuple[Any, dict[str, int]]:
    from zeroshift.overlap.locate import reopen_corpus

    corpus = reopen_corpus(json.loads(description))
    return corpus, {k: i for i, k in enumerate(corpus.keys())}


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def locate_pair(
    benchmark: str, data_root: str | None, sample: str, corpus: dict[str, Any], neighbour: str
) -> LocatedPair:
    """Open evaluation image ``sample`` of ``benchmark`` and training image ``neighbour`` of ``corpus`` (an index
    manifest's corpus description); a side that cannot be opened is None, with a note (see the module docstring).

    Example:
        >>> locate_pair("factorworld(n=2)", None, "x", {"kind": "folder", "root": "/nowhere"}, "a.jpg").notes[1][:40]
        'training image a.jpg: corpus folder /now'

    """
    notes: list[str] = []
    evaluation = training = None
    try:
        dataset, position = _dataset(benchmark, data_root)
        if sample in position:
            evaluation = dataset.load(position[sample])[0]
        else:
            notes.append(f"evaluation image {sample}: not in {benchmark}")
    except Exception as error:  # a report never fails on a moved dataset: the pair is shown by its ids
        notes.append(f"evaluation image {sample}: {_reason(error)}")
    try:
        if not corpus.get("kind"):
            raise LookupError("the index records no corpus")
        images, where = _corpus(json.dumps(corpus, sort_keys=True, default=str))
        if not getattr(images, "has_images", False):
            raise LookupError(f"the {images.kind} corpus holds embeddings, not images")
        if neighbour not in where:
            raise LookupError(f"not in the corpus at {corpus.get('root')}")
        training = images.load(where[neighbour])[0]
    except Exception as error:  # likewise for a moved or changed training corpus
        notes.append(f"training image {neighbour}: {_reason(error)}")
    return LocatedPair(evaluation, training, notes)


__all__ = ["LocatedPair", "locate_pair"]
