"""Natural photos bundled with scikit-image, as backgrounds (read from the installed package, never downloaded).

Texture photos (brick, grass, gravel) are greyscale and tinted when used; scene photos keep their colours.
Each is loaded once per process and shrunk so that random crops are cheap.

Example:
    >>> crop = photo_crop("brick", 32, np.random.default_rng(0))
    >>> crop.shape, crop.dtype
    ((32, 32, 3), dtype('float32'))

"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

from zeroshift.errors import DatasetError

#: longest side kept in memory (crops take 35-90% of it before resizing)
_MAX_SIDE = 256


@cache
def photo(name: str) -> np.ndarray:
    """The photo ``name`` of ``skimage.data`` as float32 RGB in [0, 1], longest side at most 256 px."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None:
        raise DatasetError(f"factorworld: scikit-image has no bundled image {name!r}")
    try:
        arr = np.asarray(loader())
    except Exception as err:  # a photo that is not bundled would need pooch and the network
        raise DatasetError(f"factorworld: scikit-image image {name!r} is not available offline ({err})") from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = (255 * (arr - arr.min()) / max(float(arr.max() - arr.min()), 1e-6)).astype(np.uint8)
    image = Image.fromarray(arr)
    image.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255.0


def photo_crop(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of photo ``name`` resized to ``size`` x ``size`` (float32 RGB in [0, 1])."""
    img = photo(name)
    h, w = img.shape[:2]
    side = int(rng.uniform(0.35, 0.9) * min(h, w))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    crop = Image.fromarray((img[y0 : y0 + side, x0 : x0 + side] * 255).astype(np.uint8))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
