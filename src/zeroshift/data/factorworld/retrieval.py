"""``factorworld_retrieval``: FactorWorld images with several differently worded captions each, for retrieval.

The images are exactly those of ``factorworld(n, seed)`` (same split, same sample parameters, same content keys),
so a run after the clean split encodes no image again. Each image gets ``captions`` distinct captions from the
caption grammar (:func:`~zeroshift.data.factorworld.captions.caption`), drawn from a stream seeded by
``(CAPTION_STREAM, seed, index)`` that is independent of the sampler's, so they change with neither ``n`` nor
another image. Every factor column stays in ``Dataset.meta`` (recall can be broken down by factor), the shape in
``meta["shape"]``; the set is unlabelled (label space ``none``) like every retrieval set.

Example:
    >>> bench = FactorWorldRetrieval(n=4, captions=3)
    >>> data = bench.dataset()
    >>> len(data), [len(c) for c in data.meta["captions"]]
    (4, [3, 3, 3, 3])
    >>> all(data.meta["shape"][i] in " ".join(data.meta["captions"][i]) for i in range(4))
    True
    >>> data.content_key(0) == FactorWorldTest(n=4).dataset().content_key(0)
    True

"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zeroshift.data.factorworld.benchmarks import FactorWorld, FactorWorldTest  # noqa: F401 (doctest)
from zeroshift.data.factorworld.captions import caption
from zeroshift.data.retrieval import RetrievalBenchmark
from zeroshift.errors import SpecError

#: first word of the captions' seed sequence, so their stream never meets the sampler's
CAPTION_STREAM = 0xCA97
#: draws allowed per wanted caption before repeats are accepted (the grammar is far richer than that)
MAX_DRAWS_PER_CAPTION = 20


def distinct_captions(params: dict[str, Any], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` captions of one sample, distinct while the grammar allows it within the draw budget.

    Example:
        >>> from zeroshift.data.factorworld.sampler import sample_params, split_recipe
        >>> caps = distinct_captions(sample_params(split_recipe("test"), 0, 0), 5, np.random.default_rng(0))
        >>> len(caps), len(set(caps))
        (5, 5)

    """
    found: list[str] = []
    draws = 0
    while len(found) < count and draws < MAX_DRAWS_PER_CAPTION * count:
        text = caption(params, rng)
        draws += 1
        if text not in found:
            found.append(text)
    while len(found) < count:  # a grammar too poor for `count` distinct captions: repeat in order
        found.append(found[len(found) % max(1, len(found))] if found else caption(params, rng))
    return found


class FactorWorldRetrieval(RetrievalBenchmark, FactorWorld):
    """FactorWorld's clean test images, each with ``captions`` varied captions (image-text retrieval)."""

    name = "factorworld_retrieval"
    display_name = "FactorWorld retrieval"
    description = "FactorWorld image-text retrieval: clean test images, several varied captions each"
    defaults: ClassVar[dict[str, Any]] = {"n": 1000, "seed": 0, "captions": 5}
    labelled = False
    metric_groups = ("retrieval", "modality_gap")
    label_spaces = ("none",)
    split = "test"

    def validate_params(self) -> None:  # noqa: D102
        FactorWorld.validate_params(self)
        count = self.params["captions"]
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 50:
            raise SpecError(f"{self.name}: captions must be an integer from 1 to 50, got {count!r}")

    @property
    def record(self) -> dict[str, Any]:
        """The generator, the split and the caption protocol."""
        return {
            **FactorWorld.record.fget(self),  # type: ignore[attr-defined]
            "captions_per_image": self.params["captions"],
            "caption_seeding": f"numpy default_rng(({CAPTION_STREAM}, seed, index)); distinct captions, "
            f"repeats only after {MAX_DRAWS_PER_CAPTION} draws per caption",
        }

    def extra_meta(self, params: list[dict[str, Any]]) -> dict[str, list[Any]]:  # noqa: D102
        seed, count = self.params["seed"], self.params["captions"]
        return {
            "captions": [
                distinct_captions(p, count, np.random.default_rng((CAPTION_STREAM, seed, i)))
                for i, p in enumerate(params)
            ]
        }
