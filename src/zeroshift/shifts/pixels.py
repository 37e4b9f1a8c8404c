"""Conversions between the engine's ``[0, 1]`` float CHW tensors and the uint8 HWC arrays that image libraries
(numpy/scipy/scikit-image, OpenCV, Pillow) work on.

The geometry of every adapter ends in ``ToTensor``, so the pixels a shift receives are exact multiples of 1/255
and the round trip is lossless.

Example:
    >>> import torch
    >>> x = torch.tensor([0.0, 1 / 255, 1.0]).view(3, 1, 1).expand(3, 2, 2)
    >>> to_uint8_hwc(x)[0, 0].tolist()
    [0, 1, 255]
    >>> torch.equal(from_uint8_hwc(to_uint8_hwc(x)), x.contiguous())
    True

"""

from __future__ import annotations

import numpy as np
import torch


def to_uint8_hwc(pixels: torch.Tensor) -> np.ndarray:
    """A ``(3, H, W)`` float tensor in [0, 1] as an ``(H, W, 3)`` uint8 array (rounded)."""
    return (
        (pixels.detach().float() * 255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    )


def from_uint8_hwc(image: np.ndarray) -> torch.Tensor:
    """An ``(H, W, 3)`` uint8 array as a ``(3, H, W)`` float32 tensor in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0).contiguous()
