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


# numpy rather than torch: on one small image torch's intra-op thread pool costs more than the arithmetic (many
# times more CPU with two threads on a busy machine), and loader workers handle one image at a time anyway.
def to_uint8_hwc(pixels: torch.Tensor) -> np.ndarray:
    """A ``(3, H, W)`` float tensor in [0, 1] as an ``(H, W, 3)`` uint8 array (rounded)."""
    x = np.multiply(pixels.detach().cpu().numpy(), np.float32(255.0), dtype=np.float32)
    np.rint(x, out=x)
    np.clip(x, 0, 255, out=x)
    out = np.empty((x.shape[1], x.shape[2], x.shape[0]), dtype=np.uint8)
    out[...] = x.transpose(1, 2, 0)  # one pass: cast and interleave the channels
    return out


def from_uint8_hwc(image: np.ndarray) -> torch.Tensor:
    """An ``(H, W, 3)`` uint8 array as a ``(3, H, W)`` float32 tensor in [0, 1]."""
    chw = np.empty((image.shape[2], image.shape[0], image.shape[1]), dtype=np.float32)
    chw[...] = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    chw /= np.float32(255.0)
    return torch.from_numpy(chw)
