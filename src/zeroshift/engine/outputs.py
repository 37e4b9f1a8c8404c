"""From cached features to class scores: the ``Outputs`` every metric group reads, and the differentiable
``Classifier`` (pixels -> normalisation -> encoder -> head -> label space) that attacks differentiate.

Both go through :func:`class_logits`, so the scores a metric sees and the scores an attack optimises are the
same function of the features.

Example:
    >>> import torch
    >>> from zeroshift.data.base import LabelSpace
    >>> space = LabelSpace.from_columns("subset", ["a", "b"], "u", ["a", "x", "b"], [0, 2])
    >>> feats = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> head = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # rows for used columns 0 and 2
    >>> logits, cos = class_logits(feats, "zero_shot", head, 10.0, 0.0, space)
    >>> logits.tolist(), cos.tolist()
    ([[10.0, 0.0], [0.0, 10.0]], [[1.0, 0.0], [0.0, 1.0]])

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zeroshift.data.base import LabelSpace


def class_logits(
    features: torch.Tensor,
    kind: str,
    head: torch.Tensor | None,
    logit_scale: float,
    logit_bias: float,
    space: LabelSpace,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Class scores over ``space`` (and raw class cosines for zero-shot models with a max/select mapping).

    Args:
        features: ``(N, D)`` unit image embeddings (zero-shot) or ``(N, U)`` universe logits (fixed head).
        kind: ``zero_shot`` or ``fixed_head``.
        head: ``(len(space.used_columns), D)`` text head rows, zero-shot only.
        logit_scale: multiplier of cosines.
        logit_bias: added after scaling (SigLIP).
        space: the label space.

    """
    if kind == "zero_shot":
        assert head is not None
        cos = features.to(head.dtype) @ head.to(features.device).T
        logits = space.class_scores(logit_scale * cos + logit_bias, used_only=True)
        class_cos = None if space.reduce == "mean_prob" else space.class_scores(cos, used_only=True)
        return logits, class_cos
    used = list(space.used_columns)
    return space.class_scores(features[:, used], used_only=True), None


@dataclass
class Outputs:
    """What metric groups read: per-sample class scores and labels of one condition.

    Attributes:
        sample_ids: ids of the evaluated samples (skipped images are absent).
        labels: label index in the label space, -1 where a sample has none (OOD sets).
        logits: ``(N, C)`` float32 class scores (logit scale applied).
        cosines: ``(N, C)`` raw cosine similarities per class (zero-shot models), for MCM.
        label_space: the protocol that produced the columns.
        logit_scale: the scale applied to cosines (1 for fixed heads).
        meta: per-sample metadata columns of the benchmark.
        indices: positions of the samples in the benchmark's dataset.

    """

    sample_ids: list[str]
    labels: np.ndarray
    logits: torch.Tensor
    cosines: torch.Tensor | None
    label_space: LabelSpace
    logit_scale: float = 1.0
    logit_bias: float = 0.0
    meta: dict[str, list[Any]] = field(default_factory=dict)
    indices: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the columns."""
        return self.label_space.class_names


class Classifier(torch.nn.Module):
    """The whole zero-shot (or fixed-head) classifier on [0, 1] pixels, differentiable end to end."""

    def __init__(self, model: Any, head: torch.Tensor | None, space: LabelSpace) -> None:
        super().__init__()
        self.model = model
        self.space = space
        self.register_buffer("head", head if head is not None else torch.empty(0), persistent=False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class scores for a ``(B, 3, H, W)`` batch of [0, 1] pixels."""
        features = self.model.encode_image(self.model.preprocess.normalize(pixels))
        head = self.head if self.head.numel() else None
        logits, _ = class_logits(
            features.float(), self.model.kind, head, self.model.logit_scale, self.model.logit_bias, self.space
        )
        return logits
