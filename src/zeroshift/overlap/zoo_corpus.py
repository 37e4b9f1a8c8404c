"""A zoo model's FactorWorld training set as a corpus: regenerated from the recipe's distribution, seed and size.

Zoo models train on images rendered from seeded sample parameters (``zeroshift.zoo.train.render_set`` of
``train:DIST`` with the recipe's seed), so the exact training images can be drawn again, in full or as a seeded
sample, without storing any. A fine-tuned model saw its parent's training set and then its own: both are listed
(:func:`training_sets`). Training also mirrors about half the images without writing on the fly; the corpus holds
the images as rendered (the mirrored views are near-duplicates a check may or may not catch; see the calibration's
``flip`` plant).

Example:
    >>> [(s.distribution, s.seed, s.size, s.role) for s in training_sets("clip-cnn-diverse-ft")]
    [('diverse', 0, 30000, 'pretraining'), ('narrow', 0, 30000, 'fine-tuning')]
    >>> corpus = zoo_training_corpus("clip-cnn-narrow", n=4, seed=1)
    >>> len(corpus), corpus.keys()[0].startswith("train:narrow/seed0/")
    (4, True)
    >>> corpus.load(0)[0].size
    (64, 64)

"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from zeroshift.overlap.corpus import ImageCorpus


@dataclass(frozen=True)
class TrainingSet:
    """One training set of a zoo model.

    Attributes:
        model: the recipe that trains on it.
        distribution: the FactorWorld distribution (``narrow``, ``diverse``).
        seed: the recipe's seed (the images' seed stream).
        size: the number of images.
        role: ``pretraining`` or ``fine-tuning``.

    """

    model: str
    distribution: str
    seed: int
    size: int
    role: str

    def params(self, index: int) -> dict[str, Any]:
        """The sample parameters of training image ``index`` (as ``render_set`` draws them; memoised: drawing them
        costs milliseconds, and a corpus lists each image's content key before it renders it).
        """
        return _training_params(self.distribution, self.seed, index)

    def key(self, index: int) -> str:
        """The corpus key of training image ``index``."""
        return f"train:{self.distribution}/seed{self.seed}/{index:06d}"

    def as_dict(self) -> dict[str, Any]:
        """For records."""
        return {"model": self.model, "distribution": self.distribution, "seed": self.seed, "size": self.size,
                "role": self.role}  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _training_params(distribution: str, seed: int, index: int) -> dict[str, Any]:
    from zeroshift.data.factorworld.sampler import sample_params, training_recipe

    return sample_params(training_recipe(distribution), seed, index)


def training_sets(model: str) -> list[TrainingSet]:
    """Every training set a zoo model saw, parents first (a fine-tune adds its own set to its parent's)."""
    from zeroshift.zoo.train import resolve_recipe

    recipe = resolve_recipe(model)
    own = TrainingSet(model, recipe["data"]["distribution"], int(recipe["seed"]), int(recipe["data"]["size"]),
                      "fine-tuning" if recipe["kind"] == "finetune" else "pretraining")  # fmt: skip
    if recipe["kind"] == "finetune":
        return training_sets(recipe["parent"]) + [own]
    return [own]


class FactorWorldTrainingCorpus(ImageCorpus):
    """The training images of a zoo model, rendered on demand (see the module docstring).

    Args:
        model: a zoo recipe name.
        n: a seeded sample of this many images (None: every image of every training set).
        seed: the seed of that sample.

    """

    kind = "factorworld"

    def __init__(self, model: str, n: int | None = None, seed: int = 0) -> None:
        from zeroshift.data.factorworld.benchmarks import generator_key
        from zeroshift.errors import UsageError

        self.model = model
        self.sets = training_sets(model)
        self.sample_seed = seed
        entries = [(s, i) for s, ts in enumerate(self.sets) for i in range(ts.size)]
        if n is not None:
            if n < 1:
                raise UsageError(f"n must be at least 1, got {n}")
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(len(entries), size=min(n, len(entries)), replace=False))
            entries = [entries[int(p)] for p in pick]
        self.n = n
        # two sets with one distribution and seed hold the same images: keep each image once
        seen: dict[str, tuple[int, int]] = {}
        for s, i in entries:
            seen.setdefault(self.sets[s].key(i), (s, i))
        self._entries = list(seen.values())
        self._keys = list(seen)
        self.generator = generator_key()

    def keys(self) -> list[str]:  # noqa: D102
        return self._keys

    def params(self, i: int) -> dict[str, Any]:
        """The sample parameters of corpus sample ``i``."""
        s, index = self._entries[i]
        return self.sets[s].params(index)

    def load(self, i: int) -> tuple[Image.Image, str]:  # noqa: D102
        from zeroshift.data.factorworld.benchmarks import _MEMO

        # the FactorWorld benchmarks' render memo: a training image that is also a test image renders once
        return _MEMO.get(self.content_key(i), self.params(i)), ""

    def content_key(self, i: int) -> str:
        """The generator and the sample's parameter digest (as FactorWorld benchmarks key their samples)."""
        from zeroshift.data.factorworld.sampler import params_digest

        return f"{self.generator}|{params_digest(self.params(i))}"

    def describe(self) -> dict[str, Any]:  # noqa: D102
        return {"kind": self.kind, "root": f"zoo:{self.model}", "n": len(self._keys), "sample": self.n,
                "sample_seed": self.sample_seed, "training_sets": [s.as_dict() for s in self.sets],
                "generator": self.generator}  # fmt: skip

    def listing_digest(self) -> str:  # noqa: D102
        import hashlib

        text = "\n".join([self.generator, *self._keys])
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def zoo_training_corpus(model: str, n: int | None = None, seed: int = 0) -> FactorWorldTrainingCorpus:
    """The training images of zoo model ``model`` (or a seeded sample of ``n``) as a corpus."""
    return FactorWorldTrainingCorpus(model, n, seed)
