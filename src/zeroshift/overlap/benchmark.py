"""``corpus(location=...)``: a training corpus as an unlabelled benchmark, so its images go through the engine.

The overlap index of a corpus is built from the engine's cached ``features`` of (model, this benchmark): an image
already encoded (a FactorWorld training image that is also a test image shares its content key) is never encoded
again, and a second index of the same corpus reads every row from the cache. ``location`` is any corpus location
of :func:`zeroshift.overlap.locate.locate_corpus` with images: an image folder, webdataset shards, or
``zoo-train:NAME`` (``sample``/``seed``: a seeded sample of it). The label space is that of the benchmark ``id``
(only fixed-head models read it; they are refused by the overlap artefact anyway).

Example:
    >>> bench = CorpusBenchmark(None, location="zoo-train:clip-cnn-narrow", sample=4)
    >>> data = bench.dataset()
    >>> len(data), data.sample_ids[0].startswith("train:narrow/seed0/"), bench.labelled
    (4, True, False)

"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.errors import SpecError, UsageError


class CorpusBenchmark(Benchmark):
    """A training corpus as an unlabelled benchmark (see the module docstring)."""

    name = "corpus"
    description = "a training corpus (image folder, webdataset shards, zoo-train:NAME) as unlabelled images"
    defaults: ClassVar[dict[str, Any]] = {"location": None, "sample": None, "seed": 0, "id": "factorworld"}
    labelled = False
    metric_groups: ClassVar[tuple[str, ...]] = ()
    kind = "corpus"
    layout = "an image folder, webdataset shards ({00000..00009}.tar), or zoo-train:NAME"

    def validate_params(self) -> None:  # noqa: D102
        from zeroshift.overlap.locate import ZOO_PREFIX

        location = self.params["location"]
        if not isinstance(location, str) or not location:
            raise SpecError("corpus needs a location: corpus(location='/path/to/images') or location='zoo-train:NAME'")
        if not location.startswith(ZOO_PREFIX):
            # absolute, so the canonical spec (the cache and results key) names the same folder from anywhere
            self.params["location"] = os.path.abspath(os.path.expanduser(location))
        sample = self.params["sample"]
        if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or sample < 1):
            raise SpecError(f"corpus: sample must be a positive integer, got {sample!r}")

    def corpus(self) -> Any:
        """The image corpus (:class:`~zeroshift.overlap.corpus.ImageCorpus`)."""
        from zeroshift.overlap.corpus import ImageCorpus
        from zeroshift.overlap.locate import locate_corpus

        p = self.params
        corpus = locate_corpus(p["location"], sample=p["sample"], seed=p["seed"]) if p["sample"] else locate_corpus(
            p["location"])  # fmt: skip
        if not isinstance(corpus, ImageCorpus):
            raise UsageError(f"corpus {p['location']} holds precomputed embeddings: index it with zeroshift overlap "
                             "index, then give the index folder")  # fmt: skip
        return corpus

    def dataset(self) -> Dataset:
        """The corpus as a dataset: sample ids are the corpus keys, content keys the corpus's."""
        return self.corpus().as_dataset()

    def label_space(self, name: str | None = None) -> LabelSpace:
        """A label space of the benchmark ``id`` (the corpus has no labels of its own)."""
        from zeroshift.data import make_benchmark

        return make_benchmark(self.params["id"], self.data_root).label_space(name)

    def resolve_label_space(self, name: str | None) -> str:  # noqa: D102
        from zeroshift.data import make_benchmark

        return make_benchmark(self.params["id"], self.data_root).resolve_label_space(name)
