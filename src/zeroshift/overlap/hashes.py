"""Perceptual hashes: imagehash's 64-bit pHash packed into one ``uint64`` per image, and Hamming distances.

A pHash (Zauner 2010, as implemented by ``imagehash.phash`` with ``hash_size=8``) is the sign pattern of the
lowest 8x8 DCT coefficients of a 32x32 greyscale thumbnail: re-encoding and resizing hardly change it, cropping,
flipping and strong colour changes do. It is stored packed (8 bytes per image, big-endian bit order as
``numpy.packbits`` writes it), so millions of corpus hashes fit in memory and distances are one XOR and a bit count.

Example:
    >>> from PIL import Image, ImageOps
    >>> rng = np.random.default_rng(0)
    >>> a, b = (Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).resize((256, 256)) for _ in "ab")
    >>> h = phash64([a, a.resize((128, 128)), ImageOps.mirror(a), b])
    >>> hamming(h[0], h[1:]).tolist()  # resized: same hash; mirrored or another image: about half the bits differ
    [0, 30, 34]

"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

#: what is recorded about the hash
PHASH_PROTOCOL = {"hash": "imagehash.phash", "hash_size": 8, "bits": 64, "highfreq_factor": 4}
#: the value stored for an image without a hash (a failed decode, an embeddings-only corpus)
NO_HASH = np.uint64(0)


def phash64(images: Sequence[Image.Image]) -> np.ndarray:
    """The 64-bit pHash of each image as ``uint64``.

    Example:
        >>> import imagehash
        >>> from PIL import Image
        >>> img = Image.effect_noise((48, 48), 40).convert("RGB")
        >>> f"{int(phash64([img])[0]):016x}" == str(imagehash.phash(img))
        True

    """
    import imagehash

    out = np.empty(len(images), dtype=np.uint64)
    for i, image in enumerate(images):
        bits = imagehash.phash(image, hash_size=PHASH_PROTOCOL["hash_size"]).hash.flatten()
        out[i] = np.frombuffer(np.packbits(bits).tobytes(), dtype=">u8")[0]
    return out


def hamming(a: np.ndarray | np.uint64 | int, b: np.ndarray | np.uint64 | int) -> np.ndarray:
    """Number of differing bits between packed hashes (broadcast like ``a ^ b``).

    Example:
        >>> hamming(np.uint64(0b1011), np.array([0b1011, 0b0000], dtype=np.uint64)).tolist()
        [0, 3]

    """
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return np.bitwise_count(x).astype(np.int64)


def to_hex(hashes: np.ndarray) -> list[str]:
    """Hashes as 16-digit hex strings (imagehash's ``str()``), for JSON files.

    Example:
        >>> to_hex(np.array([255], dtype=np.uint64))
        ['00000000000000ff']

    """
    return [f"{int(h):016x}" for h in np.asarray(hashes, dtype=np.uint64)]


def from_hex(texts: Sequence[str]) -> np.ndarray:
    """Inverse of :func:`to_hex`.

    Example:
        >>> int(from_hex(["00000000000000ff"])[0])
        255

    """
    return np.array([int(t, 16) for t in texts], dtype=np.uint64)
