"""``factorworld``: the exact depth of FactorWorld samples, rendered from their parameters.

Example:
    >>> from zeroshift.data import make_benchmark
    >>> data = make_benchmark("factorworld(n=4)", None).dataset()
    >>> src = FactorWorldDepth()
    >>> [m.shape for m in src.rows(data, [0, 1])]
    [(64, 64), (64, 64)]

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from zeroshift.data.base import Dataset
from zeroshift.depth.base import DepthSource
from zeroshift.errors import UsageError


class FactorWorldDepth(DepthSource):
    """FactorWorld's exact depth (``zeroshift.data.factorworld.depth``)."""

    scheme = "factorworld"
    needs_pixels = False

    @property
    def canonical(self) -> str:  # noqa: D102
        return "factorworld"

    def identity(self) -> dict[str, Any]:
        """The generator and the depth definition; each row adds the sample's content key."""
        from zeroshift.data.factorworld.benchmarks import generator_key
        from zeroshift.data.factorworld.depth import depth_spec

        return {"source": "factorworld", "generator": generator_key(), "depth": depth_spec().key}

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        from zeroshift.data.factorworld.depth import depth_spec

        return {**super().protocol, "definition": depth_spec().raw, "exact": True}

    def check(self, dataset: Dataset) -> None:  # noqa: D102
        if not hasattr(dataset, "params"):
            raise UsageError(
                f"depth='factorworld' gives depth for FactorWorld benchmarks only; {dataset.name} is not one "
                "(use depth=\"folder(path='...')\" or a depth model such as depth='dpt:Intel/dpt-hybrid-midas')"
            )

    def depth_rows(self, params: Sequence[dict[str, Any]]) -> list[np.ndarray]:
        """The depth maps of samples given by their parameter dicts."""
        from zeroshift.data.factorworld.depth import render_depth

        return [render_depth(p) for p in params]

    def rows(  # noqa: D102
        self, dataset: Dataset, indices: Sequence[int], pixels: torch.Tensor | None = None
    ) -> list[np.ndarray]:
        self.check(dataset)
        return self.depth_rows([dataset.params[i] for i in indices])  # type: ignore[attr-defined]
