"""``factorworld_leaked``: a test set with a known share of exact training images of a zoo model.

``n`` samples of which ``round(share * n)`` are training images of the zoo model ``source`` (drawn with ``seed``
from the training set it saw last: its own, or its fine-tuning set; with ``pool``, from the seeded sample of
``pool`` images of that set that ``zoo-train:SOURCE`` with ``sample=pool`` lists, so a small index of that sample
holds every leaked image) and the rest fresh images of the same distribution from a seed stream no training set
uses. :attr:`FactorWorldLeaked.training_corpus` names that corpus (the ``overlap`` group's default). The per-sample
column ``leaked`` is the ground truth an overlap check should recover, ``train_index`` the leaked image's index in
that training set (-1 for fresh images). Scoring a model on the leaked and the fresh samples
(``zeroshift.overlap.contamination``) shows how much accuracy seeing the test images in training inflates. The set
is a diagnostic of the clean test split (``in_distribution = "factorworld"``): the report measures effective
robustness on all and on clean samples against the trend of the supervised models from there to here.

Example:
    >>> bench = FactorWorldLeaked(None, n=20, share=0.25, seed=0)
    >>> data = bench.dataset()
    >>> len(data), sum(data.meta["leaked"]), bench.canonical
    (20, 5, "factorworld_leaked(n=20, pool=None, seed=0, share=0.25, source='clip-cnn-narrow')")
    >>> FactorWorldLeaked(None, n=20, pool=500).training_corpus
    {'location': 'zoo-train:clip-cnn-narrow', 'sample': 500, 'seed': 0}

"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zeroshift.data.factorworld.benchmarks import FACTOR_COLUMNS, FactorWorld, FactorWorldDataset
from zeroshift.data.factorworld.sampler import Recipe, sample_params, sample_rng
from zeroshift.data.factorworld.world import world
from zeroshift.errors import SpecError


class FactorWorldLeaked(FactorWorld):
    """Fresh test images mixed with a known share of a zoo model's training images (column ``leaked``)."""

    name = "factorworld_leaked"
    display_name = "FactorWorld with leaked training images"
    kind = "diagnostic"
    in_distribution = "factorworld"
    description = "FactorWorld with a known share of a zoo model's exact training images (column leaked)"
    defaults: ClassVar[dict[str, Any]] = {
        "n": 1000, "seed": 0, "share": 0.25, "source": "clip-cnn-narrow", "pool": None
    }  # fmt: skip
    metric_groups = ("accuracy",)
    split = "test"

    def validate_params(self) -> None:  # noqa: D102
        super().validate_params()
        share = self.params["share"]
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= float(share) <= 1.0:
            raise SpecError(f"{self.name}: share must be a number from 0 to 1, got {share!r}")
        pool = self.params["pool"]
        if pool is not None and (isinstance(pool, bool) or not isinstance(pool, int) or pool < 1):
            raise SpecError(f"{self.name}: pool must be a positive integer (or None: the whole set), got {pool!r}")
        from zeroshift.registry import suggest
        from zeroshift.zoo.train import recipe_names

        if self.params["source"] not in recipe_names():
            source = str(self.params["source"])
            raise SpecError(
                f"{self.name}: source must name a zoo model, got {source!r}"
                + (suggest(source, recipe_names()) or f"; known: {', '.join(recipe_names())}")
            )

    def training_set(self) -> Any:
        """The training set the leaked images come from (the last one ``source`` trained on)."""
        from zeroshift.overlap.zoo_corpus import training_sets

        return training_sets(self.params["source"])[-1]

    @property
    def training_corpus(self) -> dict[str, Any]:
        """The corpus the leaked images come from (the params of the ``corpus`` benchmark; see the docstring)."""
        return {"location": f"zoo-train:{self.params['source']}", "sample": self.params["pool"], "seed": 0}

    @property
    def record(self) -> dict[str, Any]:
        """The generator, the source training set, and how the samples are mixed."""
        from zeroshift.data.factorworld.benchmarks import generator_key

        ts = self.training_set()
        return {
            "generator": generator_key(),
            "image_size": world().image_size,
            "leaked_from": ts.as_dict(),
            "fresh_from": {"distribution": ts.distribution, "stream": f"leaked-fresh:{ts.distribution}"},
            "n_leaked": self.n_leaked,
            "pool": self.params["pool"],
        }

    @property
    def n_leaked(self) -> int:
        """How many samples are training images."""
        return int(round(float(self.params["share"]) * self.params["n"]))

    def dataset(self) -> FactorWorldDataset:
        """Leaked and fresh samples in a seeded order, with ``leaked`` and ``train_index`` columns."""
        n, seed = self.params["n"], self.params["seed"]
        ts = self.training_set()
        rng = sample_rng("factorworld_leaked", world().version, ts.key(0), seed)
        n_leak = self.n_leaked
        if n_leak > ts.size:
            raise SpecError(f"{self.name}: {n_leak} leaked samples asked, the training set has {ts.size} images")
        pool = self._pool(ts)
        if n_leak > len(pool):
            raise SpecError(f"{self.name}: {n_leak} leaked samples asked, the pool holds {len(pool)} training images")
        leaked = pool[rng.choice(len(pool), size=n_leak, replace=False)]
        fresh = Recipe(f"leaked-fresh:{ts.distribution}", ts.distribution)
        params = [ts.params(int(i)) for i in leaked] + [sample_params(fresh, seed, i) for i in range(n - n_leak)]
        train_index = [int(i) for i in leaked] + [-1] * (n - n_leak)
        order = rng.permutation(n)
        params = [params[i] for i in order]
        train_index = [train_index[i] for i in order]
        classes = list(world().classes)
        targets = np.asarray([classes.index(p["shape"]) for p in params], dtype=np.int64)
        meta: dict[str, list[Any]] = {c: [p["factors"][c] for p in params] for c in FACTOR_COLUMNS}
        meta["shape"] = [p["shape"] for p in params]
        meta["leaked"] = [t >= 0 for t in train_index]
        meta["train_index"] = train_index
        return FactorWorldDataset(self.name, classes, params, targets, meta)

    def _pool(self, ts: Any) -> np.ndarray:
        """Indices (in ``ts``) the leaked images are drawn from: all, or those of the ``pool`` sample's corpus."""
        if self.params["pool"] is None:
            return np.arange(ts.size)
        from zeroshift.overlap.zoo_corpus import zoo_training_corpus

        corpus = zoo_training_corpus(self.params["source"], self.params["pool"], 0)
        mine = corpus.sets.index(ts)
        return np.asarray(sorted(i for s, i in corpus._entries if s == mine), dtype=np.int64)
