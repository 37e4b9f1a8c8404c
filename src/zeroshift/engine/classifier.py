"""The whole classifier on [0, 1] pixels, differentiable end to end: what attacks optimise.

It goes through the same :func:`~zeroshift.core.outputs.class_logits` as the scores metric groups read, so an
attack optimises exactly the function that is scored.

Example:
    >>> from zeroshift.models import resolve_model
    >>> from zeroshift.data import make_benchmark
    >>> space = make_benchmark("factorworld", None).label_space()
    >>> clf = Classifier(resolve_model("zoo:sup-cnn-tiny").load(), None, space)
    >>> clf(torch.rand(2, 3, 64, 64)).shape
    torch.Size([2, 16])

"""

from __future__ import annotations

from typing import Any

import torch

from zeroshift.core.outputs import class_logits
from zeroshift.data.base import LabelSpace


class Classifier(torch.nn.Module):
    """Pixels -> normalisation -> encoder -> head -> label space (see the module docstring)."""

    def __init__(self, model: Any, head: torch.Tensor | None, space: LabelSpace) -> None:
        super().__init__()
        self.model = model
        self.space = space
        self.register_buffer("head", head if head is not None else torch.empty(0), persistent=False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class scores for a ``(B, 3, H, W)`` batch of [0, 1] pixels."""
        features = self.model.encode_image(self.model.preprocess.normalize(pixels))
        head = self.head if self.head.numel() else None
        logits, _ = class_logits(features.float(), head, self.model.logit_scale, self.model.logit_bias, self.space)
        return logits
