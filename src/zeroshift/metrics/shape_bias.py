"""Shape bias on cue-conflict images (Geirhos et al., ICLR 2019), as in model-vs-human's ``ShapeBias``.

Over the images whose shape and texture categories differ, count the decisions that name the shape category
and those that name the texture category; shape bias = shape / (shape + texture). Decisions that hit neither
are left out of the ratio (they still lower ``shape_match`` and ``texture_match``, the fractions of all
conflict images decided by shape or by texture). Per-category values group the images by their shape category.

Example:
    >>> import numpy as np
    >>> counts = shape_texture_counts(np.array([0, 1, 2, 0]), np.array([0, 0, 0, 1]), np.array([1, 1, 1, 0]))
    >>> counts.shape, counts.texture, counts.n, counts.shape_bias
    (1, 2, 4, 0.3333333333333333)

"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from zeroshift.core.lazy import torch
from zeroshift.metrics.base import MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Params, metric_group


@dataclass(frozen=True)
class ShapeTextureCounts:
    """Decisions on cue-conflict images whose shape and texture differ.

    Attributes:
        n: conflict images (shape != texture).
        shape: decisions that name the shape category.
        texture: decisions that name the texture category.

    """

    n: int
    shape: int
    texture: int

    @property
    def shape_bias(self) -> float:
        """Shape / (shape + texture); NaN when no decision hits either cue."""
        hits = self.shape + self.texture
        return self.shape / hits if hits else float("nan")

    @property
    def shape_match(self) -> float:
        """Fraction of conflict images decided by their shape."""
        return self.shape / self.n if self.n else float("nan")

    @property
    def texture_match(self) -> float:
        """Fraction of conflict images decided by their texture."""
        return self.texture / self.n if self.n else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Counts and the derived fractions (for record details)."""
        return {**asdict(self), "shape_bias": self.shape_bias}


def shape_texture_counts(decisions: np.ndarray, shapes: np.ndarray, textures: np.ndarray) -> ShapeTextureCounts:
    """Count shape and texture decisions over the images whose shape differs from their texture.

    Args:
        decisions: decided category per image (any label that is neither cue counts as neither).
        shapes: shape category per image.
        textures: texture category per image.

    """
    decisions, shapes, textures = (np.asarray(a) for a in (decisions, shapes, textures))
    conflict = shapes != textures
    d, s, t = decisions[conflict], shapes[conflict], textures[conflict]
    return ShapeTextureCounts(int(conflict.sum()), int((d == s).sum()), int((d == t).sum()))


def _bias_with_ci(
    decisions: np.ndarray, shapes: np.ndarray, textures: np.ndarray, boot: dict[str, Any]
) -> tuple[ShapeTextureCounts, float, float]:
    """Counts of the conflict images and a bootstrap interval of their shape bias (images resampled)."""
    conflict = shapes != textures
    hit_shape = (decisions == shapes)[conflict].astype(np.float64)
    hit_texture = (decisions == textures)[conflict].astype(np.float64)

    def statistic(idx: np.ndarray) -> float:
        s, t = hit_shape[idx].sum(), hit_texture[idx].sum()
        return s / (s + t) if s + t else float("nan")

    lo, hi = bootstrap_ci(statistic, int(conflict.sum()), boot["n_boot"], boot["alpha"], boot["seed"])
    return shape_texture_counts(decisions, shapes, textures), lo, hi


@metric_group(
    "shape_bias",
    metrics=(
        MetricSpec("shape_bias", "shape bias", True, "shape / (shape + texture) decisions on cue-conflict images"),
        MetricSpec("shape_match", "shape match", True, "fraction of conflict images decided by their shape"),
        MetricSpec("texture_match", "texture match", False, "fraction of conflict images decided by their texture"),
    ),
)
def shape_bias_group(inputs: Any, params: Params) -> GroupResult:
    """Shape bias overall (and per shape category), shape and texture match.

    Reads the texture category index of every sample from the meta column named by the benchmark's
    ``texture_column`` (default ``texture``; the cue-conflict benchmarks provide it); samples without one (-1) are
    not cue-conflict images and are ignored.
    """
    outputs = inputs.outputs
    column = inputs.benchmark.texture_column if inputs.benchmark is not None else "texture"
    if column not in outputs.meta:
        return GroupResult()
    settings = params.bootstrap
    textures = np.asarray(outputs.meta[column], dtype=np.int64)
    shapes = np.asarray(outputs.labels, dtype=np.int64)
    decisions = torch.as_tensor(outputs.logits).float().argmax(dim=1).cpu().numpy()
    columns = {"texture": textures.tolist()}
    usable = textures >= 0
    decisions, shapes, textures = decisions[usable], shapes[usable], textures[usable]
    counts, lo, hi = _bias_with_ci(decisions, shapes, textures, settings)
    names = list(outputs.class_names)
    per_category: dict[str, Any] = {}
    for c, name in enumerate(names):
        rows = shapes == c
        if not rows.any():
            continue
        cat_counts, cat_lo, cat_hi = _bias_with_ci(decisions[rows], shapes[rows], textures[rows], settings)
        per_category[name] = {**cat_counts.as_dict(), "ci_low": cat_lo, "ci_high": cat_hi}
    details = {
        **counts.as_dict(),
        "definition": "shape / (shape + texture) over images with shape != texture (Geirhos et al. 2019)",
        "decision": f"argmax over the 16 categories of label space {outputs.label_space.name!r}"
        f" (reduce {outputs.label_space.reduce!r})",
        "per_category": per_category,
    }
    conflict = shapes != textures
    shape_hits = (decisions == shapes)[conflict]
    texture_hits = (decisions == textures)[conflict]
    values = [
        MetricValue("shape_bias", counts.shape_bias, True, lo, hi, details),
        mean_with_ci(shape_hits, "shape_match", True, settings, {"n": counts.n}),
        mean_with_ci(texture_hits, "texture_match", False, settings, {"n": counts.n}),
    ]
    return GroupResult(values, columns=columns)
