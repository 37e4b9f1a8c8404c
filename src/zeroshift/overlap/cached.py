"""Indexing a corpus from the engine's feature cache: the ``corpus`` benchmark's cached features, as an index.

:func:`index_corpus` asks the engine for the features of ``corpus(location=...)`` (every image encoded at most once,
ever: the rows live in the same banks as every run's, keyed by image content) and builds an
:class:`~zeroshift.overlap.index.OverlapIndex` from them. The index's manifest describes the image corpus itself
(:class:`CachedCorpus`), so a check can reopen it to hash the neighbours of its candidates (pHash confirmation).

Example:
    >>> import tempfile
    >>> from zeroshift.engine.runner import Runner, RunOptions
    >>> runner = Runner(RunOptions(cache_dir=tempfile.mkdtemp(), progress=False))
    >>> features = lambda bench: __import__("zeroshift.engine.features", fromlist=["x"]).cached_features(
    ...     runner, "zoo:clip-cnn-narrow", bench)
    >>> index = index_corpus(features, tempfile.mkdtemp() + "/idx", "zoo-train:clip-cnn-narrow", sample=20,
    ...                      model=ModelRef.of("zoo:clip-cnn-narrow"))
    >>> index.size, index.manifest["corpus"]["kind"], index.manifest["corpus"]["features"]
    (20, 'factorworld', 'engine feature cache')

"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zeroshift.errors import UsageError
from zeroshift.overlap.corpus import ArrayCorpus, ImageCorpus
from zeroshift.overlap.features import ModelRef


class CachedCorpus(ArrayCorpus):
    """Cached feature rows of an image corpus, describing themselves as that corpus (see the module docstring).

    Args:
        rows: the engine's ``ArtefactRows`` of the corpus (sample ids are the corpus keys).
        images: the image corpus they come from.
        model: whose features they are.

    """

    kind = "cached"

    def __init__(self, rows: Any, images: ImageCorpus, model: ModelRef) -> None:
        super().__init__(rows.rows.float().cpu().numpy(), model, keys=rows.sample_ids, name=str(images.describe()))
        self.images = images
        self.counts = dict(rows.protocol.get("counts", {}))
        self.bank = rows.fingerprint

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {**self.images.describe(), "features": "engine feature cache", "bank": self.bank,
                "n_images": len(self.images), "skipped": self.counts.get("skipped", {})}  # fmt: skip

    def listing_digest(self) -> str:  # noqa: D102
        return self.images.listing_digest()


def corpus_spec(location: str, sample: int | None = None, seed: int = 0) -> str:
    """The canonical ``corpus`` benchmark spec of a location.

    Example:
        >>> corpus_spec("zoo-train:clip-cnn-narrow", 100)
        "corpus(id='factorworld', location='zoo-train:clip-cnn-narrow', sample=100, seed=0)"

    """
    from zeroshift.data import make_benchmark
    from zeroshift.specs import CallSpec

    params: dict[str, Any] = {"location": location, "seed": seed}
    if sample is not None:
        params["sample"] = sample
    return make_benchmark(CallSpec.make("corpus", **params).canonical, None).canonical


def index_corpus(
    features_of: Callable[[str], Any],
    folder: str | os.PathLike[str],
    location: str,
    model: ModelRef,
    sample: int | None = None,
    seed: int = 0,
    data_root: Path | None = None,
    **build: Any,
) -> Any:
    """Build (or reopen) the index of the image corpus at ``location`` from the engine's cached features.

    Args:
        features_of: ``benchmark spec -> ArtefactRows`` of normalised features (the engine's
            :func:`~zeroshift.engine.features.cached_features` for one model, or a condition's ``features_of``).
        folder: the index folder.
        location: an image folder, webdataset shards, or ``zoo-train:NAME``.
        model: whose features ``features_of`` gives (recorded; checks compare it).
        sample: a seeded sample of this many images of a ``zoo-train:`` corpus.
        seed: the seed of that sample.
        data_root: the data root of the benchmark (unused by corpora; kept for symmetry with runs).
        build: keyword arguments of :func:`~zeroshift.overlap.index.build_index` (``kind``, ``exact_limit``, ...).

    """
    from zeroshift.data import make_benchmark
    from zeroshift.overlap.index import build_index

    spec = corpus_spec(location, sample, seed)
    bench = make_benchmark(spec, data_root)
    images = bench.corpus()
    images.check_not_empty()
    rows = features_of(spec)
    if len(rows) == 0:
        skipped = rows.protocol.get("counts", {}).get("skipped", {})
        raise UsageError(f"no image of the corpus {location} could be read ({skipped})")
    return build_index(folder, CachedCorpus(rows, images, model), phash=False, **build)
